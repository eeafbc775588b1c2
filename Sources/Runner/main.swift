import Workflow
import Stages

print("ssmflow: \(StageCatalog.all.count) stage kinds")
