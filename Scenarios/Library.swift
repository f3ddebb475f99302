import ScenarioAPI

/// Every scenario otabench runs. Adding a scenario is one file plus its line here.
public enum ScenarioLibrary {
    public static let all: [Scenario] = [
        .flashKnownGood,
        .otaHappyPath,
        .cloudOTAHappyPath,
        .cloudPowerCutDuringTransfer,
        .cloudUpdateRefusedWhileDisabled,
        .otaOverSerialYModem,
        .powerCutDuringDownload,
        .powerCutDuringApply,
        .powerCutDuringDFUWrite,
        .corruptImageRefused,
        .wrongPlatformRefusedByDevice,
        .wrongPlatformRefusedByHost,
        .truncatedTransferRefused,
        .unmetDependencySafeModeThenHeal,
        .updatesDisabledThenEnabled,
        .forcedUpdateOverridesDisable,
        .minimalDisruption,
        .dfuRecoveryOfBrokenSystem,
    ]
}
