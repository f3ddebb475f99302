import Firmware

/// A `HAL_Delay_Milliseconds` the listening-mode console sits in, and what it does when the
/// delay is over. The board answers nothing meanwhile: what the host sends waits, as in the
/// USB CDC receive buffer, and is read when the console runs again.
struct ConsoleDelay: Hashable, Sendable {
    /// When the delay ends, on the board's serial clock.
    var due: Duration
    var then: Action

    enum Action: Hashable, Sendable {
        /// 6.x `f`: the prompt, 100 ms, then the refusal (v6.0.0 system_setup.cpp:258-268).
        case refuseYModem
        /// After "Downloaded file successfully!" and its 1000 ms (system_ymodem.cpp:312-324):
        /// "Restarting system to apply firmware update..." (system_update.cpp:232-235).
        case announceRestart([FirmwareModule])
        /// 1.x: the 100 ms between "Restarting…" and the reset (v1.5.2 system_update.cpp:239-245).
        case restart([FirmwareModule])
    }
}
