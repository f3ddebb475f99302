import Firmware
import Testing

@Suite("Device ids", .timeLimit(.minutes(10)))
struct DeviceIDTests {
    @Test("24 ASCII hexadecimal digits, either case; nothing else", arguments: [
        ("e00fce68000d000000000001", true), ("E00FCE68000D000000000001", true),
        ("e00fce68000d00000000001", false), ("e00fce68000d0000000000011", false), ("e00fce68000d00000000000g", false),
        ("\u{FF10}00fce68000d000000000001", false), ("e00fce68000d00000000000\u{0661}", false), ("", false),
        ("e00fce68000d00000000000:", false), ("e00fce68000d00000000000@", false), ("e00fce68000d00000000000`", false),
    ])
    func validity(_ text: String, _ valid: Bool) {
        #expect(DeviceID.isValid(text) == valid)
    }
}
