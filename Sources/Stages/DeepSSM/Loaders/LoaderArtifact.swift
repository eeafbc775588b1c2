import Foundation

/// The `loaders` artifact of `deepssm-loaders` (a directory), and the copy of
/// its normalisation that a trained model carries: the one place their file
/// names live, for the stage that writes them and every stage that reads them.
struct LoaderArtifact {
    /// The sample stacks of the artifact: images (and whitened targets) per split.
    enum Split: String, CaseIterable {
        case train, validation = "val", test
    }

    let directory: URL

    init(_ directory: URL) { self.directory = directory }

    /// `train.h5`, `val.h5` or `test.h5`.
    func url(_ split: Split) -> URL { directory.appendingPathComponent("\(split.rawValue).h5") }

    /// `normalization.json`: intensity statistics and the score whitening.
    var normalizationURL: URL { Self.normalizationURL(in: directory) }

    func normalization() throws -> LoaderNormalization { try LoaderNormalization(contentsOf: normalizationURL) }

    /// A reader of `split` in batches of `batchSize` (shuffled per epoch with `seed`).
    func reader(_ split: Split, batchSize: Int, shuffle: Bool = false, seed: UInt64 = 0) throws -> BatchReader {
        try BatchReader(url: url(split), batchSize: batchSize, shuffle: shuffle, seed: seed)
    }

    /// Where a directory (the loaders, or a trained model) keeps its normalisation.
    static func normalizationURL(in directory: URL) -> URL { directory.appendingPathComponent("normalization.json") }
}
