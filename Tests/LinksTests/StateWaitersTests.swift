@testable import Links
import NIOConcurrencyHelpers
import Testing

@Suite("Waiting for a state: woken by the change, never by a clock", .timeLimit(.minutes(1)))
struct StateWaitersTests {
    /// A counter that tasks wait on, as an owner of a `StateWaiters` keeps one.
    final class Counter: Sendable {
        let value = NIOLockedValueBox(0)
        let waiters = StateWaiters<Int>()
        func add(_ amount: Int) { waiters.wake(value.withLockedValue { $0 += amount; return $0 }) }
        func wait(for target: Int) async throws { try await waiters.wait(until: { $0 >= target }, now: { value.withLockedValue { $0 } }) }
    }

    @Test("A condition that already holds returns at once; one that does not waits for the change that makes it hold")
    func wakesAtTheChange() async throws {
        let counter = Counter()
        counter.add(2)
        try await counter.wait(for: 2)
        let waiting = Task { try await counter.wait(for: 5) }
        while counter.waiters.count == 0 { await Task.yield() }
        counter.add(2)
        // 4 is not 5: the waiter stays.
        #expect(counter.waiters.count == 1)
        counter.add(1)
        try await waiting.value
        #expect(counter.waiters.count == 0)
    }

    @Test("A cancelled wait throws CancellationError and leaves no waiter, whether cancelled before or while it waits")
    func cancellation() async throws {
        let counter = Counter()
        let waiting = Task { try await counter.wait(for: 1) }
        while counter.waiters.count == 0 { await Task.yield() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        #expect(counter.waiters.count == 0)

        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await counter.wait(for: 1)
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(counter.waiters.count == 0)
        #expect(counter.waiters.records == 0)
    }

    @Test("Waits woken and then cancelled before their task ran on leave no record behind")
    func cancelAfterTheWake() async throws {
        let counter = Counter()
        for target in 1...500 {
            let waiting = Task { try await counter.wait(for: target) }
            while counter.waiters.count == 0 { await Task.yield() }
            counter.add(1)
            // The wake has resumed the wait; its task may not have run on yet, so the cancel
            // can still reach the wait's cancellation handler with nothing left to cancel.
            waiting.cancel()
            try await waiting.value
        }
        #expect(counter.waiters.records == 0, "a cancel that finds its wait already woken must not keep its id")
    }

    @Test("No change falls between a waiter's look and its wait: 2,000 waits raced against the changes all end")
    func noLostWakeUp() async throws {
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for target in 1...2_000 {
                group.addTask { try await counter.wait(for: target) }
                group.addTask { counter.add(1) }
            }
            try await group.waitForAll()
        }
        #expect(counter.value.withLockedValue { $0 } == 2_000)
        #expect(counter.waiters.count == 0)
        #expect(counter.waiters.records == 0)
    }
}

@Suite("A manual clock wakes its sleepers when moved past their deadline", .timeLimit(.minutes(1)))
struct ManualClockTests {
    @Test("Sleepers wake when time reaches their deadline, not before; a past deadline returns at once")
    func advancing() async throws {
        let clock = ManualClock()
        let short = Task { try await clock.sleep(for: .seconds(1)) }
        let long = Task { try await clock.sleep(for: .seconds(3)) }
        await clock.waitForSleepers(2)
        clock.advance(by: .seconds(2))
        try await short.value
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        try await long.value
        try await clock.sleep(until: clock.now.advanced(by: .seconds(-1)), tolerance: nil)
        #expect(clock.now == ManualClock.Instant(offset: .seconds(3)))
    }

    @Test("A time limit fires when its clock passes it, and never while the clock stands still")
    func timeout() async throws {
        let clock = ManualClock()
        let limited = Task {
            try await withTimeout(.seconds(5), what: "the wait", clock: clock) {
                try await Task.sleep(for: .seconds(3600))
            }
        }
        await clock.waitForSleepers()
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .seconds(1))
        await #expect(throws: TimeoutError(what: "the wait", limit: .seconds(5))) { try await limited.value }
    }
}

@Suite("Memory streams: reads woken by the write, timed on the clock they are given", .timeLimit(.minutes(1)))
struct MemoryByteStreamTests {
    @Test("A read returns what the other end wrote, waits for a write, and times out only when its clock says so")
    func reads() async throws {
        let clock = ManualClock()
        let (a, b) = MemoryByteStream.pair(clock: clock)
        try await a.write([1, 2, 3])
        #expect(try await b.read(maximum: 2, timeout: .zero) == [1, 2])
        #expect(try await b.read(maximum: 8, timeout: .zero) == [3])

        let waiting = Task { try await b.read(maximum: 8, timeout: .seconds(1)) }
        await clock.waitForSleepers()
        try await a.write([4])
        #expect(try await waiting.value == [4])

        let silent = Task { try await b.read(maximum: 8, timeout: .seconds(1)) }
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(999))
        #expect(clock.sleeperCount == 1)
        clock.advance(by: .milliseconds(1))
        #expect(try await silent.value == [])
    }

    @Test("A close ends a waiting read with a disconnect, after what was written before it")
    func close() async throws {
        let clock = ManualClock()
        let (a, b) = MemoryByteStream.pair(clock: clock)
        try await a.write([9])
        let waiting = Task { () async throws -> [UInt8] in
            let first = try await b.read(maximum: 8, timeout: .seconds(1))
            _ = try await b.read(maximum: 8, timeout: .seconds(1))
            return first
        }
        await clock.waitForSleepers()
        await a.close()
        await #expect(throws: LinkError.disconnected) { try await waiting.value }
        await #expect(throws: LinkError.disconnected) { try await a.write([1]) }
    }
}
