/*
 * PartitionOwnership.pml: carepath's partition ownership protocol (issue 13),
 * as a Promela model for spin. Checked by Tests/model/check.sh (`make test-model`,
 * part of `make test`); described in docs/runtime.md, "The ownership protocol,
 * model-checked". Keep it in step with the code it describes (named below).
 *
 * WHAT IS MODELLED
 *
 * Several `carepath run` instances share one consumer group and one store
 * (PostgreSQL). The store, not Kafka, owns progress. Each input partition p
 * is claimed in the store with a new epoch on assignment, every batch commit
 * is fenced by that epoch, and outputs leave through the transactional outbox.
 *
 *   proctype instance(i)   one `carepath run` process. Its steps are atomic
 *                          store transactions or in-memory steps; between any
 *                          two of them it may crash or pause (group(), below).
 *                          It is a set of guarded actions rather than one
 *                          sequential program because a real instance is
 *                          several tasks at once (consume loop, outbox relay).
 *     claim(p)             the assignment callback, then `PartitionClaims.claim`:
 *                          ONE transaction `epoch[p] += 1; owner[p] = me`; the
 *                          instance keeps the epoch (held), empties its cached
 *                          patient states of p (cache), reads the store's next
 *                          offset of p into the offset book (pos; Kafka's
 *                          committed offsets are not used, `OffsetBook`) and
 *                          decides the batch there (decideNext). One atomic step
 *                          (see the comment at claim for why that loses nothing).
 *     decideNext(p)        `BatchDecider` deciding the batch at offset pos in
 *                          memory, on the cached state or, cache empty, on the
 *                          state read from the store. Its output has a
 *                          deterministic id, modelled as the row (p, offset).
 *                          The cache advances before the commit, as in the code.
 *     commit(p)            `EventStore.commit(_:)` with the fence (`StoreBatch`
 *                          carrying the epochs): ONE transaction that checks
 *                          `epoch[p] == held` and `next[p] == pos`, then appends
 *                          the events, advances next[p] and inserts the outbox
 *                          row; the next batch is then decided in memory. A
 *                          fenced commit writes nothing; the instance drops p
 *                          (pending batch, cache, claim) and rejoins: it may
 *                          claim p again only if the group (still, or again)
 *                          assigns p to it. (The code drops every partition:
 *                          `CarepathApplication.run()` rebuilds its services
 *                          and the consumer joins again, so each partition is
 *                          claimed anew; the model's drop of p alone is the
 *                          weaker case.)
 *     learnRevocation(p)   the revocation callback, late or never (a paused
 *                          instance runs nothing): the batch in flight is
 *                          abandoned (or was committed/fenced before),
 *                          cached states of p are forgotten, the relay stops
 *                          taking p's rows.
 *     relay(p, o)          `OutboxRelay`: a committed, unmarked outbox row of a
 *                          partition this instance believes it owns (has
 *                          claimed) is published, Kafka acknowledges, the row is
 *                          marked published in the store. (A crash between
 *                          publish and mark means a second publish under the
 *                          same id: allowed, and invisible to the properties.)
 *   proctype group()       the environment: Kafka's group coordinator and the
 *                          machines. It assigns each partition to at most one
 *                          member at a time (assigned[p]); moves partitions
 *                          between live members (a rebalance; at most MAXMOVES);
 *                          hands the partitions of a crashed or paused member to
 *                          a live one (session timeout); crashes instances
 *                          (memory lost) and pauses them (GC pause, SIGSTOP,
 *                          network partition: the instance stops where it is and
 *                          later resumes there), at most MAXFAULTS crashes and
 *                          pauses in all; restarts crashed instances (they rejoin
 *                          with empty memory) and resumes paused ones.
 *
 * Variables. The store: epoch[p], owner[p] (the partition claims table),
 * next[p] (the store's next offset of p, advanced by each commit), outbox[r]
 * (0 absent, 1 committed and not marked, 2 marked published). The group:
 * assigned[p], alive[i], paused[i]. An instance's memory (lost on a crash):
 * phase, held (the epoch it claimed), pos (the offset it consumes from), cache
 * (the state version of its cached patient states of p, NONE when emptied),
 * base (the state version its pending batch was decided on). Ghosts, for the properties
 * only: commits[r] (successful commits of row r's batch), pub[r] (row r was
 * published to Kafka at least once).
 *
 * Timers are not modelled separately: a due timer is a store row of its
 * partition, announced (published as an input event with a deterministic id)
 * only by an instance that has claimed the partition, then marked announced:
 * the same read-publish-mark cycle as relay(p, o), over rows that
 * the fenced commit wrote. Properties 2 and 3 carry over word for word; a
 * timer announced twice arrives as an input with the same id, which the
 * store's processed-inputs check makes a no-op.
 *
 * Not modelled: the content of events and outputs (only their identity and the
 * state version they were decided on), Kafka's own offset commits (carepath
 * never reads them back to resume), batches of several offsets (a batch here
 * is one offset: a longer batch is the same single transaction), deciding
 * batch n+1 while batch n commits (its decision is dropped with the partition
 * whenever n is fenced), patients spread over two partitions (version
 * conflicts, retried separately), the store's own durability.
 *
 * PROPERTIES (assertions; spin -a, pan compiled with -DSAFETY; plus invalid
 * end states, i.e. no deadlock)
 *   1. No batch is committed by two owners: each (partition, offset) is
 *      committed at most once, and its committer held the current epoch (and
 *      was the recorded owner) at commit time. The batch was also decided on
 *      the state as of its offset (no stale cached state).
 *   2. No output is published unless committed: every publish is of a row
 *      that is in the outbox, i.e. was committed, and by (1) committed under
 *      the then-current claim; a zombie never publishes a batch it decided but
 *      did not commit.
 *   3. (LTL, -DLIVENESS; pan -a -f, weak fairness) every committed output is
 *      eventually published: [] (committed(r) -> <> published(r)) for every
 *      row r, given that crashes and pauses are finitely many (MAXFAULTS),
 *      crashed instances restart and paused ones resume.
 *
 * BROKEN VARIANTS (check.sh expects spin to find a violation in each):
 *   BROKEN_NO_EPOCH_CHECK   commit skips the epoch check (offset check kept)
 *   BROKEN_NO_FENCE         commit checks neither epoch nor offset (the
 *                           single-writer SQLite commit of today)
 *   BROKEN_PUBLISH_EARLY    outputs are published when decided, before commit
 *   BROKEN_KEEP_CACHE       cached states survive revocation, fencing and claims
 *   BROKEN_RELAY_OWN_ROWS   the relay publishes only rows this instance
 *                           committed itself, not those its predecessor left
 *
 * BOUNDS (override with spin -DNAME=value): N instances, P partitions, B
 * batches (offsets) per partition, MAXMOVES rebalances between live members,
 * MAXFAULTS crashes + pauses. Defaults: N=3, P=2, B=2, MAXMOVES=1,
 * MAXFAULTS=2; check.sh also runs MAXMOVES=2 with MAXFAULTS=1, and the
 * liveness check with MAXMOVES=1, MAXFAULTS=1. Why they suffice is in
 * docs/runtime.md. Crash and move takeovers from a crashed or paused member
 * are not counted in MAXMOVES: they are bounded by MAXFAULTS.
 */

#ifndef N
#define N 3
#endif
#define P 2   /* the actions below are written out for two partitions */
#ifndef B
#define B 2
#endif
#ifndef MAXMOVES
#define MAXMOVES 1
#endif
#ifndef MAXFAULTS
#define MAXFAULTS 2
#endif

#define NONE 255
#define IX(i, p) ((i) * P + (p))
#define ROW(p, o) ((p) * B + (o))

/* phase of partition p in instance i's memory */
#define IDLE   0   /* not owned as far as i knows (never assigned, revoked, fenced) */
#define OWNED  1   /* claimed with epoch held; consuming from pos; when pos < B,
                      the batch at pos is decided in memory and not committed */

/* ---- the store ---- */
byte epoch[P];
byte owner[P];
byte next[P];
byte outbox[P * B];
/* ---- the group and the machines ---- */
byte assigned[P];
bool alive[N];
bool paused[N];
byte moves;
byte faults;
/* ---- each instance's memory ---- */
bool phase[N * P];
byte held[N * P];
byte pos[N * P];
byte cache[N * P];
byte base[N * P];
/* ---- ghosts ---- */
byte commits[P * B];
bool pub[P * B];
#ifdef BROKEN_RELAY_OWN_ROWS
byte committer[P * B];
#endif

#define RUNNING (alive[i] && !paused[i])
#define PENDING(p) (phase[IX(i, p)] == OWNED && pos[IX(i, p)] < B)

/* the instance forgets p: pending batch, cached states, claim */
inline drop(p) {
    phase[IX(i, p)] = IDLE;
    held[IX(i, p)] = 0;
    pos[IX(i, p)] = 0;
    base[IX(i, p)] = 0;
#ifndef BROKEN_KEEP_CACHE
    cache[IX(i, p)] = NONE
#endif
}

/* BatchDecider on the batch at pos: on the cached states, or on the states
   read from the store when the cache is empty. The cache advances at once. */
inline decideNext(p) {
    if
    :: pos[IX(i, p)] < B ->
        if
        :: cache[IX(i, p)] == NONE -> base[IX(i, p)] = next[p]
        :: else -> base[IX(i, p)] = cache[IX(i, p)]
        fi;
        cache[IX(i, p)] = pos[IX(i, p)] + 1;
#ifdef BROKEN_PUBLISH_EARLY
        P2_published_only_if_committed: assert(outbox[ROW(p, pos[IX(i, p)])] != 0);
        pub[ROW(p, pos[IX(i, p)])] = true
#endif
    :: else -> base[IX(i, p)] = 0
    fi
}

/* Assignment callback: PartitionClaims.claim (epoch += 1, owner = me), the
   offset book reading the store's next offset, the cache of p emptied, and the
   first batch decided. One atomic step: the offset read and the decision are
   separate steps in the code, but anything another instance can write between
   the claim and them (only a later claimant can commit) fences this claim
   anyway, so splitting them adds interleavings and no behaviour. */
inline claim(p) {
    atomic {
        RUNNING && phase[IX(i, p)] == IDLE && assigned[p] == i ->
        epoch[p]++;
        owner[p] = i;
        held[IX(i, p)] = epoch[p];
#ifndef BROKEN_KEEP_CACHE
        cache[IX(i, p)] = NONE;
#endif
        pos[IX(i, p)] = next[p];
        phase[IX(i, p)] = OWNED;
        decideNext(p)
    }
}

#if defined(BROKEN_NO_FENCE)
#define FENCE_OK(p) true
#elif defined(BROKEN_NO_EPOCH_CHECK)
#define FENCE_OK(p) (next[p] == pos[IX(i, p)])
#else
#define FENCE_OK(p) (epoch[p] == held[IX(i, p)] && next[p] == pos[IX(i, p)])
#endif

/* EventStore.commit(_:) with the fence, then (in memory) the next batch decided */
inline commit(p) {
    atomic {
        RUNNING && PENDING(p) ->
        if
        :: FENCE_OK(p) ->
            /* property 1: at most once, by the holder of the current claim,
               decided on the state as of its offset */
            P1_committed_at_most_once: assert(commits[ROW(p, pos[IX(i, p)])] == 0);
            P1_committer_holds_current_epoch: assert(epoch[p] == held[IX(i, p)] && owner[p] == i);
            P1_decided_on_current_state: assert(base[IX(i, p)] == pos[IX(i, p)]);
            commits[ROW(p, pos[IX(i, p)])]++;
            outbox[ROW(p, pos[IX(i, p)])] = 1;
#ifdef BROKEN_RELAY_OWN_ROWS
            committer[ROW(p, pos[IX(i, p)])] = i;
#endif
            next[p] = pos[IX(i, p)] + 1;
            pos[IX(i, p)]++;
            decideNext(p)
        :: else ->
            drop(p)   /* fenced: nothing written, nothing published */
        fi
    }
}

inline learnRevocation(p) {
    atomic {
        RUNNING && phase[IX(i, p)] == OWNED && assigned[p] != i ->
        drop(p)
    }
}

#ifdef BROKEN_RELAY_OWN_ROWS
#define MAY_RELAY(p, o) (committer[ROW(p, o)] == i)
#else
#define MAY_RELAY(p, o) true
#endif

/* OutboxRelay: a committed, unmarked row of a partition i has claimed is
   published, Kafka acknowledges, the row is marked. One atomic step: in the
   code a crash between the publish and the mark leaves the row unmarked and it
   is published again under the same id; no property below tells one publish
   from two, so the gap is left out. */
inline relay(p, o) {
    atomic {
        RUNNING && phase[IX(i, p)] == OWNED && outbox[ROW(p, o)] == 1 && MAY_RELAY(p, o) ->
        /* property 2: only committed rows are published */
        P2_published_only_if_committed: assert(outbox[ROW(p, o)] != 0 && commits[ROW(p, o)] == 1);
        pub[ROW(p, o)] = true;
        outbox[ROW(p, o)] = 2
    }
}

#define PART_ACTIONS(p) \
    :: claim(p) \
    :: commit(p) \
    :: learnRevocation(p) \
    :: relay(p, 0) \
    :: relay(p, 1)

proctype instance(byte i) {
end:
    do
    PART_ACTIONS(0)
    PART_ACTIONS(1)
#if B > 2
    :: relay(0, 2)
    :: relay(1, 2)
#endif
    od
}

/* ---- the environment ---- */

#define UP(j) (alive[j] && !paused[j])

inline forgetAll(j) {
    for (q : 0 .. P - 1) {
        phase[IX(j, q)] = IDLE;
        held[IX(j, q)] = 0;
        pos[IX(j, q)] = 0;
        base[IX(j, q)] = 0;
        cache[IX(j, q)] = NONE
    }
    q = 0
}

inline crash(j) {
    atomic {
        alive[j] && faults < MAXFAULTS ->
        faults++;
        alive[j] = false;
        paused[j] = false;
        forgetAll(j)
    }
}

inline restart(j) {
    atomic { !alive[j] -> alive[j] = true }
}

inline pause(j) {
    atomic { UP(j) && faults < MAXFAULTS -> faults++; paused[j] = true }
}

inline resume(j) {
    atomic { alive[j] && paused[j] -> paused[j] = false }
}

/* a rebalance moving p from a live member to another live member */
inline move(p, j) {
    atomic {
        moves < MAXMOVES && assigned[p] != NONE && assigned[p] != j && UP(assigned[p]) && UP(j) ->
        moves++;
        assigned[p] = j
    }
}

/* p's member crashed or paused past the session timeout */
inline takeOver(p, j) {
    atomic {
        UP(j) && !UP(assigned[p]) ->
        assigned[p] = j
    }
}

#define MEMBER(j) \
    :: crash(j) \
    :: restart(j) \
    :: pause(j) \
    :: resume(j) \
    :: move(0, j) \
    :: move(1, j) \
    :: takeOver(0, j) \
    :: takeOver(1, j)

proctype group() {
    byte q;   /* loop index of forgetAll */
end:
    do
    MEMBER(0)
    MEMBER(1)
#if N > 2
    MEMBER(2)
#endif
    od
}

init {
    byte k;
    atomic {
        for (k : 0 .. P - 1) {
            owner[k] = NONE;
            assigned[k] = k   /* the first rebalance: p to instance p */
        }
        for (k : 0 .. N * P - 1) {
            cache[k] = NONE
        }
        for (k : 0 .. N - 1) {
            alive[k] = true
        }
        k = 0;
        run group();
        for (k : 0 .. N - 1) {
            run instance(k)
        }
        k = 0
    }
}

#ifdef LIVENESS
#define C(r) (outbox[r] != 0)
#define R(r) (C(r) -> <> pub[r])
#if P == 2 && B == 2
ltl committed_is_published { [] (R(0) && R(1) && R(2) && R(3)) }
#elif P == 2 && B == 3
ltl committed_is_published { [] (R(0) && R(1) && R(2) && R(3) && R(4) && R(5)) }
#else
#error "LIVENESS: write the formula for these bounds"
#endif
#endif
