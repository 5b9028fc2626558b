import CarepathJSON

/// What a downstream `task.updated` means (PATHWAY.md sections 4 and 5).
extension DecisionContext {
    mutating func taskUpdated(_ update: TaskUpdate) {
        guard let task = state.tasks[update.taskId], task.status != update.status else { return }
        changeTask(task, status: update.status)
        let reason = "\(task.code.rawValue) \(update.status.rawValue) (\(cause))"
        let uncompleted: Set<TaskStatus> = [.rejected, .cancelled, .failed]
        if update.status == .completed {
            taskCompleted(task, reason: reason)
        } else if uncompleted.contains(update.status) {
            taskEndedUncompleted(task, status: update.status)
        } else if task.code == .spineSurgeryConsult, update.status == .accepted || update.status == .inProgress {
            cancelTimers([.referralAcceptance], reason: reason)
            if let consult = state.tasks[task.id] { referralAccepted(consult) }
        }
    }

    private mutating func taskCompleted(_ task: CareTask, reason: String) {
        switch task.code {
        case .spineSurgeryConsult:
            cancelTimers([.referralAcceptance, .referralCompletion], reason: reason)
        case .multidisciplinaryEvaluation:
            closeTrack(.pathologicWorkup, reason: reason)
        case .spinalPrecautions:
            end(.spineCleared, reason: "spinal precautions completed (\(cause))")
            physicalTherapyAfterClearance()
        case .reassessmentVisit:
            cancelTimers([.reassessmentOverdue], reason: reason)
        default:
            break
        }
        end(.taskCompleted(task.code), reason: reason)
    }

    /// Rejected, cancelled or failed downstream (PATHWAY.md section 4, "Tasks that end uncompleted").
    private mutating func taskEndedUncompleted(_ task: CareTask, status: TaskStatus) {
        switch task.code {
        case .spineSurgeryConsult:
            consultEndedUncompleted(task, status: status)
            return
        case .reassessmentVisit:
            end(.reassessmentVisitEndedOtherwise, reason: "reassessment visit \(status.rawValue) downstream")
        default:
            break
        }
        defer {
            // One study, not two: the plain MRI only when the contrast MRI is not requested again.
            if task.code == .mriSpineWithContrast, state.open(.mriSpineWithContrast) == nil, !state.mriResulted,
               state.activeRecommendation[.mriSpineWithoutContrast] == nil {
                mriCard(cause: "the MRI with contrast was \(status.rawValue)", needFrom: state.episodeStartedAt ?? now, worsening: false, eventId: cause)
            }
        }
        guard let rec = state.recommendations[task.basedOn], rec.status == .active else { return }
        if CardLifecycle.safetyCards.contains(rec.code) {
            let endedBefore = state.tasks.values.filter {
                $0.code == task.code && $0.basedOn == rec.id && $0.id != task.id && [.rejected, .cancelled, .failed].contains($0.status)
            }.count
            if endedBefore == 0 {
                revise(rec, summary: Self.clip("\(task.code.display) \(status.rawValue) downstream: requested again. " + rec.summary),
                       addingRationale: [RationaleFact("\(task.code.rawValue)Status", status.rawValue, cause)])
                if state.open(task.code) == nil {
                    requestTask(task.code, priority: task.priority, basedOn: state.recommendations[rec.id]!, description: task.description,
                                window: task.executionPeriod)
                }
            } else {
                revise(rec, summary: Self.clip("\(task.code.display) \(status.rawValue) twice downstream: a clinician must arrange it."),
                       addingRationale: [RationaleFact("\(task.code.rawValue)Status", status.rawValue, cause)])
            }
        } else if !CardLifecycle.referralCards.contains(rec.code) {
            let ofCard = state.tasks.values.filter { $0.basedOn == rec.id }
            guard !ofCard.isEmpty, ofCard.allSatisfy({ [.rejected, .cancelled, .failed].contains($0.status) }) else { return }
            guard let ended = CardLifecycle.status(of: rec.code, on: .tasksEndedUncompleted) else { return }
            end(rec, status: ended, reason: "\(task.code.rawValue) \(status.rawValue) downstream")
        }
    }
}

/// The fields whose values differ between two versions of a clinical result.
enum ResultDifference {
    /// `time` when the times differ, then `data.…` for each differing data
    /// member (nested objects by their own members), in sorted order.
    static func fields(_ first: InputEvent, _ second: InputEvent) -> [String] {
        var out: [String] = []
        if first.time != second.time { out.append("time") }
        var a = JSONWriter(), b = JSONWriter()
        first.data.write(to: &a)
        second.data.write(to: &b)
        if let x = try? JSONParser.parse(a.bytes), let y = try? JSONParser.parse(b.bytes) { diff(x, y, path: "data", into: &out) }
        if out.isEmpty { out.append("data") }
        return out
    }

    private static func diff(_ x: JSONValue, _ y: JSONValue, path: String, into out: inout [String]) {
        if case .object(let a) = x, case .object(let b) = y {
            var keys = Set<String>()
            for m in a.members { keys.insert(m.key) }
            for m in b.members { keys.insert(m.key) }
            for key in keys.sorted() {
                let path = path + "." + key
                switch (a[key], b[key]) {
                case (nil, nil): break
                case (let u?, let v?): diff(u, v, path: path, into: &out)
                default: out.append(path)
                }
            }
        } else if x != y {
            out.append(path)
        }
    }
}
