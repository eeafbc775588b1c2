import ArgumentParser
import Foundation
import Stages
import Workflow

/// `ssmflow predict`: a trained model on new images in their own frames.
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict the shape in new NRRD images with a trained model of a workflow.",
        discussion: """
        Each image, in any frame, is registered to the training reference (the mean \
        training image in the model's input grid; rigid, or with --allow-scale an \
        isotropic scale; ITK, normalised correlation, multi-resolution, started from \
        the centres of mass). The mirrored image is tried too and the better match \
        kept, so a right femur works with a left-femur model. The registered image is \
        sampled on the model's input grid, its intensities mapped onto the training \
        images', and the network's PCA scores un-whitened into particles, which are \
        mapped back into the image's own frame.

        Written per image, under OUTPUT/NAME/: particles_image.particles (image frame), \
        particles_model.particles (model frame), surface.vtk and surface.ply (the mean \
        mesh warped onto the prediction, image frame), transform.json (the registration \
        and its quality); and OUTPUT/summary.csv. A correlation with the reference \
        under 0.5 is reported as a poor registration; under 0.2, or with less than half \
        of the reference inside the image, the image fails (exit 1).

        The model is read from the workflow's cache under the same --profile/--set it \
        was trained with; train it first with 'ssmflow run WORKFLOW --until deepssm-train'. \
        --save-model DIR writes it as a self-contained directory (network, loaders' \
        normalisation, PCA, reference image, mean shape) that --model-dir DIR reads \
        without the workflow or its cache.

        Examples:
          ssmflow run workflows/femur_deepssm.yaml --tiny-test --until deepssm-train
          ssmflow cache export split.test femur-test/
          ssmflow predict femur-test/groomed/images/f005_R.nrrd --workflow workflows/femur_deepssm.yaml --tiny-test
          ssmflow predict scans/*.nrrd --workflow workflows/femur_deepssm.yaml --profile cpu --output predicted/
          ssmflow predict --workflow workflows/femur_deepssm.yaml --profile cpu --save-model femur-model/
        """)

    @Argument(help: "NRRD images (.nrrd or .nhdr) to predict.", completion: .file(extensions: ["nrrd", "nhdr"]))
    var images: [String] = []

    @Option(help: ArgumentHelp("The workflow that trained the model.", valueName: "file"))
    var workflow: String?

    @Option(help: ArgumentHelp("A model directory written by --save-model, instead of --workflow.", valueName: "dir"))
    var modelDir: String?

    @Option(help: ArgumentHelp("Write the workflow's model as a self-contained model directory (for --model-dir elsewhere).", valueName: "dir"))
    var saveModel: String?

    @Option(help: ArgumentHelp("The trained model: STAGE.OUTPUT of a deepssm-train stage.", valueName: "stage.output"))
    var model = "deepssm-train.model"

    @Option(help: "Apply a profile from the workflow's 'profiles:' (the one the model was trained with).")
    var profile: String?

    @Flag(help: "Alias for '--profile tiny'.")
    var tinyTest = false

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a parameter as the training run did: STAGE.PARAM=VALUE; repeatable.", valueName: "stage.param=value"))
    var overrides: [String] = []

    @Option(help: ArgumentHelp("The cache directory (default: $SSMFLOW_CACHE, the workflow's 'cache: {dir:}', or ./cache).", valueName: "dir"))
    var cacheDir: String?

    @Option(help: ArgumentHelp("Where to write the results.", valueName: "dir"))
    var output = "predicted"

    @Option(help: "Which checkpoint: best (lowest validation error) or final.")
    var which = "best"

    @Flag(help: "Let the registration scale the image isotropically (a smaller or larger patient).")
    var allowScale = false

    @Flag(help: "Do not try the mirrored image (the other side).")
    var noMirror = false

    @Option(help: "Threads for registration and the network.")
    var threads = 1

    @Option(help: "cpu, cuda or auto.")
    var device = "auto"

    func validate() throws {
        if tinyTest, let profile, profile != "tiny" {
            throw ValidationError("--tiny-test means '--profile tiny'; it cannot be combined with '--profile \(profile)'")
        }
        if (workflow == nil) == (modelDir == nil) { throw ValidationError("give either --workflow (a trained workflow) or --model-dir (a saved model directory)") }
        if saveModel != nil && workflow == nil { throw ValidationError("--save-model writes the model of a --workflow") }
        if images.isEmpty && saveModel == nil { throw ValidationError("give one or more NRRD images") }
        if !["best", "final"].contains(which) { throw ValidationError("--which must be best or final, got '\(which)'") }
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if !["cpu", "cuda", "auto"].contains(device) { throw ValidationError("--device must be cpu, cuda or auto, got '\(device)'") }
    }

    /// The model of the workflow's cache, or of a model directory.
    private func loadModel() throws -> InferenceModel {
        if let modelDir { return try InferenceModel(directory: URL(fileURLWithPath: modelDir)) }
        let workflow = self.workflow ?? ""
        let registry = StageRegistry(StageCatalog.all)
        let profile = tinyTest ? "tiny" : self.profile
        let resolved = try WorkflowLoader(registry: registry).load(file: URL(fileURLWithPath: workflow),
                                                                   options: ResolveOptions(profile: profile, overrides: overrides))
        let engine = try Engine(registry: registry, cacheDirectory: CacheLocation.directory(explicit: cacheDir, workflow: resolved))
        let runCommand = (["ssmflow run", workflow] + (profile.map { ["--profile", $0] } ?? [])
            + overrides.flatMap { ["--set", $0] } + (cacheDir.map { ["--cache-dir", $0] } ?? [])).joined(separator: " ")
        let artefacts = try TrainedModelLocator(engine: engine, workflow: resolved, runCommand: runCommand).locate(model)
        return try InferenceModel(modelDirectory: artefacts.model, which: which, pca: artefacts.pca,
                                  trainingCohort: artefacts.trainingCohort, source: model)
    }

    func run() async throws {
        let started = Date()
        do {
            let loaded = try loadModel()
            if let saveModel {
                try loaded.write(to: URL(fileURLWithPath: saveModel))
                print("wrote the model directory \(saveModel) (use it with 'ssmflow predict IMAGE... --model-dir \(saveModel)')")
                if images.isEmpty { return }
            }
            // Invalid input (exit 2): images that are not readable NRRD files, before any work.
            for path in images { _ = try invalidInput { try NewImagePredictor.readImage(URL(fileURLWithPath: path)) } }
            try invalidInput { try PredictionWriter.checkUniqueNames(images.map { URL(fileURLWithPath: $0) }) }
            let predictor = try NewImagePredictor(model: loaded, aligner: ImageAligner(allowScale: allowScale, tryMirror: !noMirror, threads: threads),
                                                  device: device, threads: threads)
            printError("loaded \(modelDir ?? model) (\(which), \(loaded.checkpoint.isTL ? "TL-DeepSSM, latent \(loaded.checkpoint.outputCount)" : "\(loaded.checkpoint.outputCount) modes"), input \(loaded.checkpoint.inputShape)) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
            let directory = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var done: [NewImagePredictor.Prediction] = []
            var failures = 0
            for (i, path) in images.enumerated() {
                let t0 = Date()
                do {
                    let p = try predictor.predict(URL(fileURLWithPath: path))
                    let out = try PredictionWriter.write(p, model: loaded, into: directory)
                    done.append(p)
                    let a = p.alignment
                    printError(String(format: "[%d/%d] %@: correlation %.3f, overlap %.2f%@, %.1f s → %@", i + 1, images.count, path,
                                      a.correlation, a.overlap, a.mirrored ? ", mirrored" : "", Date().timeIntervalSince(t0), out.path))
                    if let warning = PredictionWriter.warning(a) { printError("warning: \(path): \(warning)") }
                } catch let failure as StageFailure {
                    failures += 1
                    printError("[\(i + 1)/\(images.count)] error: \(failure.message)")
                }
            }
            try PredictionWriter.writeSummary(done, into: directory)
            print("predicted \(done.count) of \(images.count) images into \(directory.path)")
            if failures > 0 { throw ExitCode(1) }
        } catch let failure as StageFailure {
            printError("error: \(failure.message)")
            throw ExitCode(1)
        }
    }

    /// Runs `body`; a `StageFailure` becomes an invalid-input exit (2).
    private func invalidInput<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let failure as StageFailure {
            printError("error: \(failure.message)")
            throw ExitCode(2)
        }
    }

    private func printError(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
