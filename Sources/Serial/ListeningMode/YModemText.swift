/// What Device OS prints around listening mode's YMODEM, exactly (each line then ends "\r\n"):
/// system/src/system_setup.cpp:264-268 (the prompt; v6.0.0 :258-268 the refusal),
/// system/src/system_ymodem.cpp:310-353 (the verdicts) and system_update.cpp:232-235
/// ("Restarting…"), the same in v1.5.2 and v5.9.0. The board's emulator prints them and the
/// host's client looks for them.
public enum YModemText {
    public static let prompt = "Waiting for the binary file to be sent ... (press 'a' to abort)"
    /// After the ACK of the closing block, flushed, then 1000 ms before "Restarting…".
    public static let downloaded = "Downloaded file successfully!"
    public static let restarting = "Restarting system to apply firmware update..."
    /// After CAN CAN, followed by the number: 2.x and later the system error (-1330), 1.x the
    /// failed validation flags (0x2).
    public static let validationFailed = "Validation failed:"
    /// Any refusal of the header: too large, updates disabled, an update already open.
    public static let prepareFailed = "The file size is higher than the allowed space memory!"
    public static let saveFailed = "Failed to save chunk!"
    public static let abortedByUser = "Aborted by user."
    /// The sender cancelled, or six errors in a row.
    public static let receiveFailed = "Failed to receive the file!"
    /// 6.0.0 and later: CAN ×4 then this, 100 ms after the prompt.
    public static let noLongerSupported = "Serial/YModem flashing is no longer supported"

    /// The lines after which the board has not taken the image.
    public static let refusals = [validationFailed, prepareFailed, saveFailed, abortedByUser, receiveFailed, noLongerSupported]
}
