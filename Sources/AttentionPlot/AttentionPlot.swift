/// AttentionPlot: PNG figures (heatmaps, line plots, grids) with no system dependencies.
public enum AttentionPlot {}
