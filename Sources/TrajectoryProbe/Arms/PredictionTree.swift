import Measurement
import Store

/// The Euler-jump and student-schedule arms as one tree of states, so that every state two arms
/// share is evaluated once.
///
/// The root is the clip's ε at step 0. An edge takes the x0 prediction of its parent at one
/// guidance scale and moves to a later step, by the Euler jump or by re-noising; each node is
/// one (cond, neg) teacher pass, and CFG's linearity gives every scale its children and units
/// need from that pass. `euler_jump(s0, s1)` at step j is the path root →(euler, s0)→ j with the
/// unit read at s1; a student schedule is its whole path. Students sharing a prefix (the same
/// first steps, guidance and transition) share its nodes, and a two-step Euler student shares
/// its landing node with the `euler_jump` arm at that step.
///
/// The tree is walked depth first, so only the passes on the current path are held in memory
/// (a student has at most ``StudentScheduleKnobs/maxSteps`` of them), whatever its size.
public struct PredictionTree: Sendable {
    struct Move: Hashable, Sendable {
        var transition: StudentScheduleKnobs.Transition
        var scale: Double
        var step: Int
    }

    /// A unit read at a node: the arm, its scale there and the step it is stored under.
    struct Emit: Sendable {
        var spec: ArmSpec
        var scale: Double
        var unitStep: Int
    }

    struct Node: Sendable {
        var step: Int
        var children: [(move: Move, node: Int)] = []
        var emits: [Emit] = []
        /// Scales needed at this node, sorted: its units' and its children's.
        var scales: [Double] {
            Array(Set(emits.map(\.scale) + children.map(\.move.scale))).sorted()
        }
    }

    private(set) var nodes: [Node] = [Node(step: 0)]

    /// Teacher passes one (clip, seed) costs: one per node.
    public var passCount: Int { nodes.count }
    /// True when no Euler-jump or student arm emits a unit: the plan then skips the tree.
    public var isEmpty: Bool { nodes.count == 1 && nodes[0].emits.isEmpty }

    init(eulerJumps: [EulerJumpArm], steps: [Int], students: [StudentScheduleArm]) {
        for a in eulerJumps {
            for j in steps {
                add(path: [Move(transition: .euler, scale: a.s0, step: j)], emit: Emit(spec: a.spec, scale: a.s1, unitStep: j))
            }
        }
        for s in students {
            let k = s.knobs
            let path = (1..<k.steps.count).map { Move(transition: k.transition!, scale: k.guidance[$0 - 1], step: k.steps[$0]) }
            add(path: path, emit: Emit(spec: s.spec, scale: k.guidance[k.guidance.count - 1], unitStep: s.unitStep))
        }
    }

    private mutating func add(path: [Move], emit: Emit) {
        var at = 0
        for move in path {
            if let next = nodes[at].children.first(where: { $0.move == move })?.node {
                at = next
            } else {
                nodes.append(Node(step: move.step))
                nodes[at].children.append((move, nodes.count - 1))
                at = nodes.count - 1
            }
        }
        nodes[at].emits.append(emit)
    }

    /// Walks the tree for one clip and seed. `root` is the pass at (ε, t_0), shared with the
    /// trajectory arms; `pass` evaluates any other state; `emit` receives each unit's x0.
    func run(schedule: ShiftedSchedule, clip: ProbeClip, seed: Int, root: () throws -> TeacherPass,
             pass: (Tensor, Double) throws -> TeacherPass, emit: (ArmSpec, Int, Tensor) throws -> Void) throws {
        try visit(0, state: clip.epsilon(seed: seed), depth: 0, schedule: schedule, clip: clip, seed: seed,
                  root: root, pass: pass, emit: emit)
    }

    private func visit(_ index: Int, state x: Tensor, depth: Int, schedule: ShiftedSchedule, clip: ProbeClip, seed: Int,
                       root: () throws -> TeacherPass, pass: (Tensor, Double) throws -> TeacherPass,
                       emit: (ArmSpec, Int, Tensor) throws -> Void) throws {
        let node = nodes[index]
        let t = schedule.t(node.step)
        let p = index == 0 ? try root() : try pass(x, t)
        let scales = node.scales
        let byScale = Dictionary(uniqueKeysWithValues: zip(scales, Guidance.combine(cond: p[.cond]!, neg: p[.neg]!, scales: scales)))
        for e in node.emits { try emit(e.spec, e.unitStep, byScale[e.scale]!) }
        for (move, child) in node.children {
            let x0 = byScale[move.scale]!, tNext = schedule.t(move.step)
            let next: Tensor
            switch move.transition {
            case .euler: next = try FlowMath.eulerStep(xt: x, x0: x0, sigma: t, to: tNext)
            case .renoise: next = try FlowMath.noised(x0: x0, epsilon: clip.renoise(seed: seed, move: depth), t: tNext)
            }
            try visit(child, state: next, depth: depth + 1, schedule: schedule, clip: clip, seed: seed,
                      root: root, pass: pass, emit: emit)
        }
    }
}
