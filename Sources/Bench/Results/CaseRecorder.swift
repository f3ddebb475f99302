import Foundation
import Logging
import ScenarioAPI

/// Forwards what a case records to the results store as it happens.
actor CaseRecorder: CaseRecording {
    let store: ResultsStore?
    let caseID: Int64
    private(set) var steps: [(name: String, failure: String?, seconds: Double)] = []
    private(set) var measurements: [ScenarioAPI.Measurement] = []
    private(set) var currentStep: String?
    private var writeErrors: [String] = []
    /// Carries the board and case as metadata; says each step and measurement at debug.
    let logger: Logger

    init(store: ResultsStore?, caseID: Int64, logger: Logger = Logger(label: "otabench.run")) {
        self.store = store
        self.caseID = caseID
        self.logger = logger
    }

    func stepStarted(_ name: String) {
        currentStep = name
        logger.debug("step \"\(name)\" started")
    }

    func stepEnded(_ name: String, duration: Duration, failure: String?) {
        let seconds = duration.seconds
        steps.append((name, failure, seconds))
        logger.debug("step \"\(name)\" \(failure.map { "failed: \($0)" } ?? "done") in \(String(format: "%.2f", seconds)) s")
        currentStep = nil
        do { try store?.addStep(case: caseID, name: name, failure: failure, seconds: seconds) } catch { writeErrors.append("\(error)") }
    }

    func measurement(_ measurement: ScenarioAPI.Measurement) {
        measurements.append(measurement)
        logger.debug("measured \(measurement.name): \(measurement.value) \(measurement.unit)\(measurement.withinLimits ? "" : ", outside its limits")")
        do { try store?.addMeasurement(case: caseID, measurement) } catch { writeErrors.append("\(error)") }
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
