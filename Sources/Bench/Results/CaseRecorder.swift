import ScenarioAPI

/// Forwards what a case records to the results store as it happens.
actor CaseRecorder: CaseRecording {
    let store: ResultsStore?
    let caseID: Int64
    private(set) var steps: [(name: String, failure: String?, seconds: Double)] = []
    private(set) var measurements: [ScenarioAPI.Measurement] = []
    private(set) var currentStep: String?
    private var writeErrors: [String] = []

    init(store: ResultsStore?, caseID: Int64) {
        self.store = store
        self.caseID = caseID
    }

    func stepStarted(_ name: String) {
        currentStep = name
    }

    func stepEnded(_ name: String, duration: Duration, failure: String?) {
        let seconds = duration.seconds
        steps.append((name, failure, seconds))
        currentStep = nil
        do { try store?.addStep(case: caseID, name: name, failure: failure, seconds: seconds) } catch { writeErrors.append("\(error)") }
    }

    func measurement(_ measurement: ScenarioAPI.Measurement) {
        measurements.append(measurement)
        do { try store?.addMeasurement(case: caseID, measurement) } catch { writeErrors.append("\(error)") }
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
