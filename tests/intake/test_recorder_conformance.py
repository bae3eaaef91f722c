"""Intake's recorder adds rows to the library's transaction: the library's own tests still pass."""

from __future__ import annotations

import asyncio

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from services.intake.store import SCHEMA, SubmissionRecorder
from shared.db import ensure_schema
from tests.infrastructure import base_settings, create_isolated, destroy_isolated


class TestSubmissionRecorder(ApplicationRecorderTestCase[SubmissionRecorder]):
    """The eventsourcing library's reusable ApplicationRecorder test case."""

    def setUp(self) -> None:
        super().setUp()
        self.settings = asyncio.run(create_isolated(base_settings()))
        asyncio.run(ensure_schema(self.settings, SCHEMA))
        self.datastores: list[PostgresDatastore] = []

    def tearDown(self) -> None:
        for datastore in self.datastores:
            datastore.close()
        asyncio.run(destroy_isolated(self.settings))
        super().tearDown()

    def create_recorder(self) -> SubmissionRecorder:
        settings = self.settings
        datastore = PostgresDatastore(
            dbname=settings.postgres_db,
            host=settings.postgres_host,
            port=str(settings.postgres_port),
            user=settings.postgres_user,
            password=settings.postgres_password.get_secret_value(),
            schema=SCHEMA,
            pool_size=4,
            max_overflow=6,
        )
        self.datastores.append(datastore)
        recorder = SubmissionRecorder(datastore, events_table_name="submissions_events")
        recorder.create_table()
        return recorder


del ApplicationRecorderTestCase
