"""What a venue's order entry can do, so the strategy never branches on the venue's name."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta
from nautilus_trader.config import NautilusConfig


class VenueCapabilities(NautilusConfig, frozen=True):
    """
    Order-entry features of a venue that change how quotes are maintained.

    Naked-sell protection is not here: it follows from the instrument (a binary option token can
    only be sold when held), not from the venue.
    """

    can_amend: bool = True
    batch_submit_max: Annotated[int, Meta(ge=1)] = 1
    batch_cancel_max: Annotated[int, Meta(ge=1)] = 1


# Gate futures amend in place (PUT /orders/{id}) and batch 10 places / 20 cancels per call;
# Polymarket has no amend and batches 15 orders per POST /orders.
VENUE_CAPABILITIES: dict[str, VenueCapabilities] = {
    "gate": VenueCapabilities(can_amend=True, batch_submit_max=10, batch_cancel_max=20),
    "polymarket": VenueCapabilities(can_amend=False, batch_submit_max=15, batch_cancel_max=15),
}
