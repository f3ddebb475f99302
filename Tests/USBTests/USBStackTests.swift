import Testing
import USB

@Suite("USB stack", .timeLimit(.minutes(10)))
struct USBStackTests {
    @Test("libusb 1.0 is linked and reports its version")
    func libusbVersion() {
        let version = USBStack.libusbVersion
        #expect(version.major == 1)
        #expect(version.minor == 0)
        #expect(version.micro >= 20)
    }

    @Test("libudev starts")
    func udev() {
        #expect(USBStack.udevInitializes())
    }
}
