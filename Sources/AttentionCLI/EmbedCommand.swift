import ArgumentParser
import Attention
import AttentionModels
import Foundation

/// `attention embed`: sentence embeddings from a sentence-transformers model
/// (all-MiniLM-L6-v2 by default), printed, compared, or written to a safetensors file.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Sentence embeddings with a BERT sentence-transformers model (all-MiniLM-L6-v2).",
        discussion: """
            Prints one line per sentence: its index, its token count and the embedding. \
            With --similarity, prints the cosine-similarity matrix instead. Get the model with \
            scripts/fetch-minilm.sh.
            """)

    @OptionGroup var modelOption: ModelOption
    @Argument(help: "Sentences to embed.") var sentences: [String] = []
    @Option(help: "A UTF-8 text file with one sentence per line (empty lines are skipped).")
    var input: String?
    @Flag(help: "Print the cosine similarity of every pair of sentences.") var similarity = false
    @Option(
        help: "Write the embeddings as `embeddings` [N, hidden] (F32) to this .safetensors file.")
    var output: String?
    @Option(
        parsing: .unconditional,
        help:
            "Time the embedding: one warm-up, then this many runs, 1…\(CLIRange.repeats.upperBound); prints the median in sentences/s."
    )
    var repeats: Int?
    @OptionGroup var execution: ExecutionFlags

    /// At most this many sentences per run (the similarity matrix is N × N).
    static let maxSentences = 100_000

    func validate() throws {
        if let repeats {
            try CLIRange.check(repeats, in: CLIRange.repeats, flag: "--repeats")
            // A timing run prints only the timing: an --output would silently not be written.
            for (flag, given) in [("--output", output != nil), ("--similarity", similarity)]
            where given {
                throw ValidationError(
                    "--repeats only times the embedding; drop \(flag) or --repeats")
            }
        }
        if let output { try OutputPath.check(output, flag: "--output") }
        _ = try allSentences()
    }

    /// The largest `--input` file read (whole, into memory): 64 MiB.
    static let maxInputBytes = 64 << 20

    /// At most `limit` bytes of `path`, or a `ValidationError` naming `--input` (a missing
    /// file, a directory, a larger file or an endless device such as /dev/zero).
    static func read(_ path: String, limit: Int) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ValidationError("--input \(path): cannot be read")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.read(upToCount: limit + 1) ?? Data()
        } catch {
            throw ValidationError("--input \(path): cannot be read (a directory?)")
        }
        guard data.count <= limit else {
            throw ValidationError(
                "--input \(path): is larger than \(limit >> 20) MiB; split it into several runs")
        }
        return data
    }

    /// The arguments, then the lines of `--input`.
    func allSentences() throws -> [String] {
        var list = sentences
        if let input {
            let data = try Self.read(input, limit: Self.maxInputBytes)
            guard let text = String(data: data, encoding: .utf8) else {
                throw ValidationError("--input \(input): is not UTF-8 text")
            }
            // Line by line, stopping past the limit: a 64 MiB file of one-letter lines is 33
            // million of them, too many to hold as strings only to refuse them.
            text.enumerateLines { line, stop in
                if !line.trimmingCharacters(in: .whitespaces).isEmpty { list.append(line) }
                stop = list.count > Self.maxSentences
            }
        }
        guard !list.isEmpty else {
            throw ValidationError(
                input == nil
                    ? "give sentences as arguments or --input FILE"
                    : "--input \(input!): has no sentences (one per line)")
        }
        guard list.count <= Self.maxSentences else {
            throw ValidationError(
                "at most \(Self.maxSentences) sentences per run; split the input into several runs")
        }
        if similarity && list.count > 1000 {
            throw ValidationError(
                "--similarity prints an N × N matrix; use it with at most 1000 sentences, got \(list.count)"
            )
        }
        return list
    }

    func run() throws {
        let sentences = try allSentences()
        let model = try modelOption.load()
        let embeddings = try model.embed(sentences, execution: execution.options)
        if let repeats {
            var seconds: [Double] = []
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try model.embed(sentences, execution: execution.options)
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            let median = seconds.sorted()[seconds.count / 2]
            let tokens = sentences.reduce(0) { $0 + model.tokenizer.encode($1).count }
            print(
                String(
                    format:
                        "timing: %d sentences (%d tokens), median of %d: %.2f ms, %.1f sentences/s",
                    sentences.count, tokens, repeats, median * 1e3,
                    Double(sentences.count) / median))
            return
        }
        if let output {
            try SafetensorsFile.write(
                [(name: "embeddings", tensor: embeddings, dtype: .f32)],
                metadata: ["model": modelOption.directory, "sentences": "\(sentences.count)"],
                to: output)
        }
        let e = embeddings.shape[1]
        if similarity {
            let s = SentenceEmbedder.cosineSimilarities(embeddings)
            print("cosine similarity (\(sentences.count) sentences):")
            for (i, text) in sentences.enumerated() {
                let row = (0..<sentences.count).map { String(format: "%7.4f", s[i, $0]) }
                print("[\(i)] " + row.joined(separator: " ") + "  " + Self.preview(text))
            }
        } else if output == nil {
            for (i, text) in sentences.enumerated() {
                let values = (0..<e).map { String(format: "%.6f", embeddings[i, $0]) }
                print("[\(i)] \(Self.preview(text)) (\(model.tokenizer.encode(text).count) tokens)")
                print(values.joined(separator: " "))
            }
        }
        if let output { print("wrote \(output): embeddings [\(sentences.count), \(e)] F32") }
    }

    /// A one-line, at most 60-character rendering of a sentence.
    static func preview(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\t", with: " ")
        return flat.count > 60 ? "\"\(flat.prefix(57))…\"" : "\"\(flat)\""
    }
}
