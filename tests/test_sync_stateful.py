"""
Random edit-and-publish sequences against a backend that misbehaves (hypothesis stateful):
once the faults stop and one more sync runs, the backend equals the outline, and no
operation took effect twice.
"""

from __future__ import annotations

import itertools
import tempfile
from datetime import UTC, datetime

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from opaque_keys.edx.locator import CourseLocator
from waffle.models import Switch
from xmodule.modulestore.django import SignalHandler, clear_existing_modulestores, modulestore
from xmodule.modulestore.mixed import MixedModuleStore

from reference_backend.faults import Fault
from reference_backend.server import ReferenceBackend
from virtu_sync_plugin import api
from virtu_sync_plugin.data import SyncStatus
from virtu_sync_plugin.models import CourseSyncState, SyncOperation, SyncRun

pytestmark = pytest.mark.django_db(transaction=True)

COURSE_KEY = CourseLocator("Prop", "STATE", "2026")
CHILD_TYPE = {"course": "chapter", "chapter": "sequential", "sequential": "vertical", "vertical": "problem"}
FAULTS = st.sampled_from(
    [
        None,
        None,
        Fault.fail(503, count=3),  # more than the client retries: the batch stays unacknowledged
        Fault.drop_after_apply(count=3),  # applied, never answered
        Fault.html(200),  # a proxy page: refused for good, recomputed next time
        Fault.wrong_length(),
        Fault.invalid_json(),
        Fault.fail(422),
    ]
)


class Node:
    """A block of the course being authored."""

    def __init__(self, block_type: str, name: str):
        self.block_type = block_type
        self.name = name
        self.title = name
        self.graded = False
        self.staff_only = False
        self.children: list[Node] = []


class EditAndPublish(RuleBasedStateMachine):
    """An author editing and publishing one course while the backend misbehaves."""

    def __init__(self):
        super().__init__()
        self.names = itertools.count()
        self.course = Node("course", "course")
        self.backend = ReferenceBackend(token="token-stateful", secret="secret-stateful")
        self.olx_root = tempfile.TemporaryDirectory(prefix="virtu-stateful-")
        self.settings = override_settings(
            VIRTU_SYNC_BACKEND_URL=self.backend.url,
            VIRTU_SYNC_API_TOKEN="token-stateful",
            VIRTU_SYNC_SIGNING_SECRET="secret-stateful",
            VIRTU_SYNC_ALLOW_INSECURE_HTTP=True,
            VIRTU_SYNC_BATCH_SIZE=5,
            MODULESTORE={
                "default": {
                    "ENGINE": "xmodule.modulestore.mixed.MixedModuleStore",
                    "OPTIONS": {"olx_root": self.olx_root.name},
                }
            },
        )
        self.settings.enable()
        clear_existing_modulestores()
        for model in (SyncOperation, SyncRun, CourseSyncState):
            model.objects.all().delete()
        Switch.objects.update_or_create(name="virtu_sync.course_sync", defaults={"active": True})

    def teardown(self):
        self.backend.stop()
        self.settings.disable()
        self.olx_root.cleanup()
        clear_existing_modulestores()

    def nodes(self, block_type: str) -> list[Node]:
        found, stack = [], [self.course]
        while stack:
            node = stack.pop()
            if node.block_type == block_type:
                found.append(node)
            stack.extend(node.children)
        return found

    def parents_of_children(self, block_type: str) -> list[Node]:
        parent_type = {child: parent for parent, child in CHILD_TYPE.items()}[block_type]
        return self.nodes(parent_type)

    @initialize()
    def start_with_a_small_course(self):
        chapter = self.add_node(self.course, "chapter")
        sequential = self.add_node(chapter, "sequential")
        vertical = self.add_node(sequential, "vertical")
        self.add_node(vertical, "problem")

    def add_node(self, parent: Node, block_type: str) -> Node:
        node = Node(block_type, f"{block_type[:3]}{next(self.names)}")
        parent.children.append(node)
        return node

    @rule(block_type=st.sampled_from(["chapter", "sequential", "vertical", "problem"]), data=st.data())
    def add(self, block_type, data):
        parents = self.parents_of_children(block_type)
        if parents:
            self.add_node(data.draw(st.sampled_from(parents)), block_type)

    @rule(block_type=st.sampled_from(["chapter", "sequential", "vertical", "problem"]), data=st.data())
    def rename(self, block_type, data):
        nodes = self.nodes(block_type)
        if nodes:
            data.draw(st.sampled_from(nodes)).title = data.draw(st.sampled_from(["Alpha", "Beta", "Ünï 🙂", "x" * 300]))

    @rule(block_type=st.sampled_from(["sequential", "vertical", "problem"]), data=st.data())
    def move(self, block_type, data):
        nodes, parents = self.nodes(block_type), self.parents_of_children(block_type)
        if not nodes or not parents:
            return
        node = data.draw(st.sampled_from(nodes))
        for parent in self.parents_of_children(block_type):
            if node in parent.children:
                parent.children.remove(node)
        target = data.draw(st.sampled_from(parents))
        target.children.insert(data.draw(st.integers(0, len(target.children))), node)

    @rule(block_type=st.sampled_from(["course", "chapter", "sequential", "vertical"]), data=st.data())
    def reorder(self, block_type, data):
        nodes = self.nodes(block_type)
        if nodes:
            node = data.draw(st.sampled_from(nodes))
            node.children = list(data.draw(st.permutations(node.children)))

    @rule(block_type=st.sampled_from(["chapter", "sequential", "vertical", "problem"]), data=st.data())
    def delete(self, block_type, data):
        parents = [parent for parent in self.parents_of_children(block_type) if parent.children]
        if parents:
            parent = data.draw(st.sampled_from(parents))
            parent.children.remove(data.draw(st.sampled_from(parent.children)))

    @rule(data=st.data())
    def toggle_grading_or_lock(self, data):
        sequentials = self.nodes("sequential")
        if sequentials:
            node = data.draw(st.sampled_from(sequentials))
            node.graded = not node.graded
            node.staff_only = data.draw(st.booleans())

    @rule(fault=FAULTS)
    def publish(self, fault):
        self.backend.set_faults(*([fault] if fault else []))
        studio = modulestore()
        studio.add_course(self.build())
        with transaction.atomic():
            SignalHandler(MixedModuleStore).send("course_published", course_key=COURSE_KEY)

    def build(self):
        from olx_modulestore import OlxCourseBuilder

        builder = OlxCourseBuilder(COURSE_KEY, display_name="Stateful", start=datetime(2026, 9, 1, tzinfo=UTC))

        def add(parent_key, node):
            fields = {"display_name": node.title}
            if node.block_type == "sequential":
                fields.update(graded=node.graded, visible_to_staff_only=node.staff_only)
            key = builder.add_child(parent_key, node.block_type, node.name, **fields)
            for child in node.children:
                add(key, child)

        for chapter in self.course.children:
            add(builder.root, chapter)
        return builder.build()

    def check_after_faults_stop(self):
        self.backend.set_faults()
        modulestore().add_course(self.build())  # the course as last edited (published or not)
        result = api.sync_course(COURSE_KEY)
        assert result.status in (SyncStatus.SYNCED, SyncStatus.UNCHANGED), result.error
        assert self.backend.tree(str(COURSE_KEY)) == api.build_outline(COURSE_KEY).tree()
        effects = self.backend.effects()
        assert not effects or max(effects.values()) == 1, "an operation took effect twice"
        assert not SyncOperation.objects.filter(status=SyncOperation.Status.PENDING).exists()


def test_random_edits_and_publishes_with_faults_end_in_sync():
    class Machine(EditAndPublish):
        def teardown(self):
            try:
                self.check_after_faults_stop()
            finally:
                super().teardown()

    run_state_machine_as_test(
        Machine,
        settings=hypothesis_settings(max_examples=30, stateful_step_count=15, deadline=None),
    )
