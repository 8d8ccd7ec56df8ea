"""Every file name of the data directory, in one place.

data/
  CURRENT, gen-*/, .build-*/   the published index (index/store/layout.py)
  .build.lock                  held while a build runs
  .feeds.lock                  held while a feed poll runs
  .update-pending              a job is changing the library or feeds ahead of the index
  .query-models/               ONNX query models, shared by generations
  library/                     articles server admins added
  feeds.sqlite                 followed feeds and their articles
  url-cache.sqlite             validators and bodies of fetched URL sources
  source-cache.sqlite          parsed articles of source files, by path, size and mtime
  answers.sqlite               answers sent, for their buttons
  feedback.sqlite              votes and unanswered questions
  jobs.sqlite                  the queue between the bot and the worker
  milvus.json                  which state Milvus holds (index/store/milvus/mirror.py)
  slots.sqlite                 starts spaced across processes (the shards' IDENTIFYs)
  watches.sqlite               watched questions, their posts, the articles matched so far
  .watch.lock                  held while watches are matched against new articles

The locks are `index/store/locks.py`'s (`.<name>.lock`). With ARTICLEBOT_DATABASE_URL set, the
pointer, the locks, the library and the SQLite files but the two caches are in PostgreSQL
instead (`index/store/backend.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from index.encode.export import CACHE_DIR
from index.store.answers import ANSWERS_NAME
from index.store.feedback import FEEDBACK_NAME
from index.store.feeds import FEEDS_NAME
from index.store.slots import SLOTS_NAME
from index.store.source_cache import SOURCE_CACHE_NAME
from index.store.url_cache import URL_CACHE_NAME
from index.store.watches import WATCHES_NAME

JOBS_NAME = "jobs.sqlite"


@dataclass(frozen=True, slots=True)
class DataFiles:
    root: Path

    @property
    def update_pending(self) -> Path:
        return self.root / ".update-pending"

    @property
    def query_models(self) -> Path:
        return self.root / CACHE_DIR

    @property
    def library(self) -> Path:
        return self.root / "library"

    @property
    def feeds(self) -> Path:
        return self.root / FEEDS_NAME

    @property
    def url_cache(self) -> Path:
        return self.root / URL_CACHE_NAME

    @property
    def source_cache(self) -> Path:
        return self.root / SOURCE_CACHE_NAME

    @property
    def answers(self) -> Path:
        return self.root / ANSWERS_NAME

    @property
    def feedback(self) -> Path:
        return self.root / FEEDBACK_NAME

    @property
    def jobs(self) -> Path:
        return self.root / JOBS_NAME

    @property
    def slots(self) -> Path:
        return self.root / SLOTS_NAME

    @property
    def watches(self) -> Path:
        return self.root / WATCHES_NAME
