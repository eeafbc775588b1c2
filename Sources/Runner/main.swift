import SSMFlowCLI
import Stages
import TorchKit
import Workflow

// One malloc arena for every thread, set before any thread allocates: training
// then keeps its large buffers between steps (TorchKit's HostHeap).
HostHeap.useSingleArena()

// `ssmflow`: the engine's built-in kinds plus every kind of the femur pipeline.
var registry = StageRegistry(StageCatalog.all)
registry.inspectors = StageCatalog.inspectors
registry.exporters = StageCatalog.exporters
registry.finishers = StageCatalog.finishers
registry.preflights = StageCatalog.preflights
await SSMFlow.main(registry: registry, commands: [CohortCommand.self, AugmentCommand.self, DoctorCommand.self,
                                                 PredictCommand.self])
