"""Checking the audit hash chains (reads only): every event's hash, every link, the head, the purge anchors.

A chain holds when, walking its events by seq:
- each event's stored hash is the hash of its fields (audit/chain.py), so no field was changed;
- seqs follow one another with no gap and each prev_hash is the previous event's hash, so nothing
  was removed, inserted or reordered;
- it starts at seq 1 after the genesis "" — or, after a purge, the start is anchored: an
  `audit.purged` event in the chain recorded the last purged event's seq and hash (`through_seq`,
  `through_hash`), and the first remaining event follows exactly that (or, while a purge is still
  deleting, the anchored event is still there and has that hash);
- the last event is the chain's head (AuditChain), so nothing was removed from the end.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from audit.chain import GENESIS, PLATFORM_CHAIN, event_hash
from audit.models import AuditChain, AuditEvent
from orgs.models import Organization

PURGED = "audit.purged"
CHUNK = 2000


@dataclass(frozen=True)
class ChainReport:
    chain: int
    events: int
    head_seq: int
    head_hash: str
    problem: str = ""  # empty when the chain holds; else the first broken link, in words
    event_id: int | None = None  # the event where it broke, when there is one

    @property
    def ok(self) -> bool:
        return not self.problem


def chain_label(chain: int) -> str:
    if chain == PLATFORM_CHAIN:
        return "platform"
    slug = Organization.objects.filter(pk=chain).values_list("slug", flat=True).first()
    return f"org {slug}" if slug else f"org #{chain} (deleted)"


def _anchors(chain: int) -> dict[int, str]:
    """through_seq → through_hash of the chain's purge events."""
    anchors = {}
    for metadata in AuditEvent.objects.filter(chain=chain, action=PURGED).values_list("metadata", flat=True):
        if isinstance(metadata, dict) and isinstance(metadata.get("through_seq"), int):
            anchors[metadata["through_seq"]] = str(metadata.get("through_hash", ""))
    return anchors


def chain_verify(*, chain: int) -> ChainReport:
    """Walk one chain in seq order (a few thousand rows at a time) and report its first broken link."""
    head = AuditChain.objects.filter(chain=chain).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    anchors = _anchors(chain)
    count = 0
    previous: AuditEvent | None = None

    def broken(problem: str, event: AuditEvent | None = None) -> ChainReport:
        return ChainReport(chain=chain, events=count, head_seq=head_seq, head_hash=head_hash, problem=problem,
                           event_id=event.pk if event else None)

    events = AuditEvent.objects.filter(chain=chain).order_by("seq").iterator(chunk_size=CHUNK)
    for event in events:
        count += 1
        where = f"event {event.pk} (seq {event.seq})"
        if event.hash != event_hash(event):
            return broken(f"{where} was changed after it was written: its hash does not match its fields", event)
        if previous is None:
            if event.seq == 1:
                if event.prev_hash != GENESIS:
                    return broken(f"{where} is the first event but does not start the chain", event)
            elif event.seq - 1 in anchors:
                if event.prev_hash != anchors[event.seq - 1]:
                    return broken(f"{where} does not follow the last purged event its purge recorded", event)
            elif not any(through >= event.seq for through in anchors):
                return broken(f"events before {where} are missing, and no purge accounts for them", event)
        else:
            if event.seq != previous.seq + 1:
                return broken(f"events between seq {previous.seq} and {where} are missing", event)
            if event.prev_hash != previous.hash:
                return broken(f"{where} does not link to the event before it (seq {previous.seq})", event)
        if event.seq in anchors and event.hash != anchors[event.seq]:
            return broken(f"{where} is not the event a purge recorded as its last", event)
        previous = event
    if previous is None:
        if head_seq:
            return broken(f"the chain's head says {head_seq} events were written, but none is left")
        return ChainReport(chain=chain, events=0, head_seq=head_seq, head_hash=head_hash)
    if previous.seq != head_seq or previous.hash != head_hash:
        return broken(f"the last event is seq {previous.seq} but the chain's head is at seq {head_seq}: "
                      "events at the end are missing or the head was changed")
    return ChainReport(chain=chain, events=count, head_seq=head_seq, head_hash=head_hash)


def chains(*, org: Organization | None = None) -> list[int]:
    """The chains to check: one org's, or every chain there is (the platform's first)."""
    if org is not None:
        return [org.pk]
    known = set(AuditChain.objects.values_list("chain", flat=True))
    known |= set(AuditEvent.objects.order_by().values_list("chain", flat=True).distinct())
    return sorted(known)


def chains_verify(*, org: Organization | None = None) -> Iterator[ChainReport]:
    for chain in chains(org=org):
        yield chain_verify(chain=chain)
