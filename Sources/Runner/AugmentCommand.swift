import ArgumentParser
import Foundation
import Stages

/// `ssmflow augment`: work with the artifacts of stage `augment` outside a workflow.
struct AugmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "augment",
        abstract: "Work with augmentation artifacts (the pool and pca outputs of 'augment').",
        subcommands: [Export.self]
    )

    /// `ssmflow augment export POOL PCA DIR`: the reference's augmentation layout.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a training pool in ShapeWorks' augmentation layout (Generated-Images, Generated-Particles, PCA_Particle_Info, TotalData.csv).",
            discussion: """
            Find the cached directories with 'ssmflow cache show augment'.

            Example:
              ssmflow augment export cache/objects/37/3774… cache/objects/b8/b807… augmentation
            """
        )

        @Argument(help: "A pool directory (holding index.json).", completion: .directory)
        var pool: String

        @Argument(help: "A pca directory (holding pca.h5), or pca.h5 itself.", completion: .file())
        var pca: String

        @Argument(help: "Where to write the layout (created).", completion: .directory)
        var destination: String

        func run() throws {
            let root = URL(fileURLWithPath: destination)
            try ReferenceAugmentationLayout.writeReferenceLayout(pool: URL(fileURLWithPath: pool), pca: URL(fileURLWithPath: pca), to: root)
            print("wrote \(root.path) (Generated-Images/, Generated-Particles/, Original-Images/, Original-Particles/, PCA_Particle_Info/, TotalData.csv)")
        }
    }
}
