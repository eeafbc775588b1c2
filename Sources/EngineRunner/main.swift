import SSMFlowCLI
import Workflow

// `ssmflow-engine`: the same command line with only the engine's built-in
// kinds (`shell`, `noop`). It does not load libtorch or VTK, whose static
// initialisers dominate the start-up of `ssmflow`; workflows of shell steps
// and the engine benchmark use it.
await SSMFlow.main(registry: StageRegistry())
