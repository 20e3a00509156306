"""One unit of work per accepted message, in four parts:

- :mod:`~gateway.store.filing.delivery`: the contract (Delivery in, Stored out, Owner, stored_message_id);
- :mod:`~gateway.store.filing.context`: what the company knows of the participants (prebuilt reads);
- :mod:`~gateway.store.filing.rows`: row mapping and inserts, applying the plan;
- :mod:`~gateway.store.filing.batch`: file_in, store_message, store_batch, the savepoint strategy and the one
  retry policy for a unique-key race (retry_races).

The planner (gateway.routing.links.plan_filing) is looked up in :mod:`~gateway.store.filing.batch`.
"""

from gateway.store.filing.batch import (
    RACE_ATTEMPTS, Retry, file_in, race_pause, retry_races, store_batch, store_message,
)
from gateway.store.filing.context import (
    CompanyFacts, Known, company_facts, load_context, load_owners, owner_of,
)
from gateway.store.filing.delivery import Delivery, Owner, Stored, clean_text, stored_message_id

__all__ = [
    "RACE_ATTEMPTS", "CompanyFacts", "Delivery", "Known", "Owner", "Retry", "Stored", "clean_text",
    "company_facts", "file_in", "load_context", "load_owners", "owner_of", "race_pause", "retry_races",
    "store_batch", "store_message", "stored_message_id",
]
