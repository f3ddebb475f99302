import Links
import Testing

@Suite("Time limits on an injected clock", .timeLimit(.minutes(1)))
struct TimeoutTests {
    struct Refused: Error, Equatable {}

    @Test("A bounded wait gives the body's answer, nil once its clock reaches the limit, and never nil before")
    func finishedWithin() async throws {
        let clock = ManualClock()
        #expect(try await finished(within: .seconds(5), clock: clock) { 7 } == 7)

        let waiting = Task { try await finished(within: .seconds(5), clock: clock) { try await Task.sleep(for: .seconds(3600)) } }
        await clock.waitForSleepers()
        clock.advance(by: .milliseconds(4_999))
        #expect(clock.sleeperCount == 1, "a millisecond short of the limit the wait goes on")
        clock.advance(by: .milliseconds(1))
        #expect(try await waiting.value == nil)
    }

    @Test("What the body throws comes through as it was, even a TimeoutError of its own with the same wording")
    func bodyErrors() async throws {
        let clock = ManualClock()
        await #expect(throws: Refused()) { _ = try await finished(within: .seconds(5), clock: clock) { throw Refused() } }
        // A limit inside the body ran out: that is the body's failure, not this wait's answer.
        let inner = TimeoutError(what: "a wait of 5.0 seconds", limit: .seconds(5))
        await #expect(throws: inner) { _ = try await finished(within: .seconds(5), clock: clock) { throw inner } }
        await #expect(throws: inner) { _ = try await withTimeout(.seconds(9), what: "the outer wait", clock: clock) { throw inner } }
    }

    @Test("A body whose own answer is nil is told apart from the limit")
    func optionalAnswer() async throws {
        let answer: Int?? = try await finished(within: .seconds(5), clock: ManualClock()) { Int?.none }
        #expect(answer == .some(.none))
    }
}
