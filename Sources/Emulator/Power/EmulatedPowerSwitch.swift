import Links

/// An emulated board's power supply: off loses RAM and leaves flash as it is; on boots the
/// board through its bootloader. Switching to the state it is already in does nothing, as a
/// relay that is already closed does nothing.
public struct EmulatedPowerSwitch: PowerSwitch {
    public let board: BoardEmulator

    public init(board: BoardEmulator) {
        self.board = board
    }

    public func setPower(_ on: Bool) async throws {
        await board.update { model in
            switch (on, model.mode == .off) {
            case (true, true): model.powerOn()
            case (false, false): model.powerOff()
            default: break
            }
        }
    }

    public func state() async throws -> PowerState {
        await board.mode == .off ? .off : .on
    }
}
