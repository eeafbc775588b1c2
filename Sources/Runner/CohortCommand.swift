import ArgumentParser
import Foundation
import Stages

/// `ssmflow cohort`: work with cohort artifacts outside a workflow.
struct CohortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cohort",
        abstract: "Work with cohort artifacts (femur-cohort, shapeworks-femur, split outputs).",
        subcommands: [Export.self]
    )

    /// `ssmflow cohort export COHORT DIR`: the ShapeWorks femur-v0 layout.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a cohort in ShapeWorks' femur layout (NRRD images, .particles, VTK meshes).",
            discussion: """
            The result opens in ShapeWorks Studio, 3D Slicer and ParaView, and reads back \
            with the 'shapeworks-femur' stage. Find a cached cohort's directory with \
            'ssmflow cache show STAGE'.

            Example:
              ssmflow cohort export cache/objects/ab/ab12… femur-v0
            """
        )

        @Argument(help: "A cohort directory (holding cohort.json and subjects.h5).", completion: .directory)
        var cohort: String

        @Argument(help: "Where to write the layout (created; existing files are replaced).", completion: .directory)
        var destination: String

        func run() throws {
            let source = try Cohort(directory: URL(fileURLWithPath: cohort))
            let root = URL(fileURLWithPath: destination)
            try ShapeWorksFemurLayout.export(source, to: root) { done, total in
                FileHandle.standardError.write(Data("\rexporting \(done)/\(total) subjects".utf8))
            }
            FileHandle.standardError.write(Data("\n".utf8))
            print("wrote \(source.count) subjects to \(root.path) (groomed/, shape_models/femur/\(source.numParticles)/, shape_models/femur/mean/)")
        }
    }
}
