@testable import Emulator
import Firmware
import Testing

@Suite("Emulated NOR flash", .timeLimit(.minutes(10)))
struct FlashTests {
    static let boron = Platform(buildName: "boron")!
    static let photon = Platform(buildName: "photon")!

    @Test("Erase sets 0xFF, a program only clears bits, and programming unerased bytes is detected")
    func norSemantics() {
        var flash = FlashMemory(region: Self.boron.internalFlash)
        #expect(flash.read(0x1000, count: 4) == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(flash.program(0x1000, [0xF0, 0x0F, 0xAA, 0x55][...]) == 0)
        #expect(flash.read(0x1000, count: 4) == [0xF0, 0x0F, 0xAA, 0x55])
        // Over a programmed byte the result is the AND, and the mismatch is counted.
        #expect(flash.program(0x1000, [0x0F, 0x0F, 0xAA, 0xFF][...]) == 2)
        #expect(flash.read(0x1000, count: 4) == [0x00, 0x0F, 0xAA, 0x55])
        flash.erase(0x1000, length: 4096)
        #expect(flash.isErased(0x1000, count: 4096))
    }

    @Test("The sector map is the platform's: Gen 2 16/64/128 KB, Gen 3 4 KB")
    func sectorMap() {
        let gen2 = FlashMemory(region: Self.photon.internalFlash)
        #expect(gen2.sector(containing: 0x0800_4001)! == (0x0800_4000, 16 << 10))
        #expect(gen2.sector(containing: 0x0801_0000)! == (0x0801_0000, 64 << 10))
        #expect(gen2.sector(containing: 0x080A_1234)! == (0x080A_0000, 128 << 10))
        #expect(gen2.sector(containing: 0x0810_0000) == nil)
        #expect(gen2.sectors(covering: 0x0800_C000, length: 0x1_0000).map(\.start) == [0x0800_C000, 0x0801_0000])
        let gen3 = FlashMemory(region: Self.boron.internalFlash)
        #expect(gen3.sector(containing: 0xB4123)! == (0xB4000, 4096))
    }

    @Test("Storage is sparse and copy-on-write: a snapshot shares pages until one side writes")
    func sparseCopyOnWrite() {
        var flash = FlashMemory(region: Self.boron.internalFlash)
        #expect(flash.residentPages == 0)
        flash.program(0x2000, [1, 2, 3][...])
        #expect(flash.residentPages == 1)
        let snapshot = flash
        flash.program(0x2003, [4][...])
        #expect(snapshot.read(0x2000, count: 4) == [1, 2, 3, 0xFF])
        #expect(flash.read(0x2000, count: 4) == [1, 2, 3, 4])
        #expect(snapshot.pages[2] !== flash.pages[2])
        #expect(snapshot.pages[0] == nil)
    }

    @Test("Faults: power lost before operation N, a torn program, a torn erase, a bit flip")
    func faults() throws {
        var storage = BoardStorage(platform: Self.boron)
        storage.faults = FaultPlan(powerLossBeforeOperation: 2)
        try storage.program(.internal, 0x3000, [0x00, 0x00])
        #expect(throws: PowerLost(operation: 2)) { try storage.program(.internal, 0x3002, [0x00]) }
        #expect(storage.read(.internal, 0x3000, count: 3) == [0x00, 0x00, 0xFF])

        storage.resetOperationLog()
        storage.faults = FaultPlan(tornOperation: (number: 1, landedBytes: 3))
        #expect(throws: PowerLost(operation: 1)) { try storage.program(.internal, 0x4000, [1, 2, 3, 4, 5]) }
        #expect(storage.read(.internal, 0x4000, count: 5) == [1, 2, 3, 0xFF, 0xFF])
        #expect(storage.log.last?.torn == true)

        storage.resetOperationLog()
        storage.faults = .none
        try storage.program(.internal, 0x5000, [UInt8](repeating: 0, count: 4096))
        storage.faults = FaultPlan(tornOperation: (number: 2, landedBytes: 1000))
        #expect(throws: PowerLost(operation: 2)) { try storage.eraseSector(.internal, containing: 0x5000) }
        #expect(storage.read(.internal, 0x5000 + 999, count: 2) == [0xFF, 0x00])

        storage.resetOperationLog()
        storage.faults = FaultPlan(bitFlips: [.init(device: .internal, address: 0x6000, bit: 3, afterOperation: 1)])
        try storage.program(.internal, 0x6000, [0xFF])
        #expect(storage.read(.internal, 0x6000, count: 1) == [0xF7])
    }

    @Test("The operation log records phase, device and address; the virtual clock adds §10's figures")
    func logAndClock() throws {
        var nrf = BoardStorage(platform: Self.boron)
        nrf.phase = .download
        try nrf.eraseSector(.internal, containing: 0xB4000)
        try nrf.program(.internal, 0xB4000, [UInt8](repeating: 0, count: 4096))
        #expect(nrf.log.map(\.kind) == [.erase, .program])
        #expect(nrf.log.allSatisfy { $0.phase == .download && $0.device == .internal && $0.address == 0xB4000 })
        // 85 ms erase + 1024 words × 41 µs.
        #expect(nrf.elapsed == .milliseconds(85) + .microseconds(41 * 1024))

        var stm = BoardStorage(platform: Self.photon)
        try stm.eraseSector(.internal, containing: 0x080A_0000)
        #expect(stm.elapsed == .seconds(1))
    }
}
