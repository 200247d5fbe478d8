"""
Sphinx directives that write the reference pages from the code, so they cannot drift from it.

``.. virtu-annotations:: setting|toggle``
    Every ``.. setting_*`` or ``.. toggle_*`` code annotation (OEP-17, the format that
    ``code_annotations static_find_annotations`` checks) in the file named by ``:source:``.
    With ``:defaults:``, also checks that the annotated settings are exactly the keys of
    that mapping (``module:NAME``), and that each annotated default is the real one.
``.. virtu-openapi:: PATH``
    The OpenAPI document at PATH (relative to the repository): its operations, parameters,
    responses and schemas.
``.. virtu-command:: NAME``
    A management command's usage and options, read from its argparse parser.

A problem found is a Sphinx warning, which ``-W`` turns into a failed build.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from typing import Any

import yaml
from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.parsing import nested_parse_to_nodes

REPO = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)

_ANNOTATION = re.compile(r"^\s*#\s?\.\. (?P<name>(?:setting|toggle)_\w+):\s?(?P<value>.*)$")
_CONTINUATION = re.compile(r"^\s*#\s{2,}(?P<value>\S.*)$")


def read_annotations(path: Path, kind: str) -> list[dict[str, str]]:
    """The annotation groups of one kind in a Python file, in file order (one dict per group)."""
    groups: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    last: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _ANNOTATION.match(line)
        if match and match["name"].startswith(kind + "_"):
            name = match["name"].removeprefix(kind + "_")
            if name == "name":
                current = {}
                groups.append(current)
            if current is not None:
                current[name] = match["value"].strip()
                last = name
            continue
        continuation = _CONTINUATION.match(line)
        if continuation and current is not None and last is not None:
            current[last] = f"{current[last]} {continuation['value'].strip()}"
            continue
        last = None
    return groups


def _literal(text: str) -> str:
    """Inline code for RST, whatever backquotes ``text`` holds."""
    if "`" in text:
        return ":literal:`" + text.replace("`", "\\`") + "`"
    return f"``{text}``"


def _markdown_inline(text: str) -> str:
    """The Markdown of an OpenAPI description as RST: `code` becomes ``code``."""
    return re.sub(r"(?<!`)`([^`\n]+)`(?!`)", r"``\1``", text.strip())


class _RstDirective(SphinxDirective):
    """A directive whose content is RST text it builds."""

    def render(self, lines: list[str]) -> list[nodes.Node]:
        # One item may hold several lines (a description with paragraphs): split them.
        lines = [line for item in lines for line in (item.splitlines() or [""])]
        # Sections allowed, with title underlines independent of the calling page's.
        return nested_parse_to_nodes(
            self.state,
            StringList(lines, source=self.get_source_info()[0]),
            offset=self.content_offset,
            allow_section_headings=True,
        )

    def warn(self, message: str) -> None:
        log.warning(message, location=self.get_location())


class AnnotationsDirective(_RstDirective):
    """``.. virtu-annotations:: setting|toggle`` with ``:source:`` and optional ``:defaults:``."""

    required_arguments = 1
    option_spec = {"source": directives.unchanged_required, "defaults": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        kind = self.arguments[0]
        source = REPO / self.options["source"]
        self.env.note_dependency(str(source))
        groups = read_annotations(source, kind)
        if not groups:
            self.warn(f"no {kind} annotations in {source}")
        if "defaults" in self.options:
            self._check_defaults(groups, self.options["defaults"])
        lines: list[str] = []
        for group in groups:
            lines += self._entry(kind, group)
        return self.render(lines)

    def _check_defaults(self, groups: list[dict[str, str]], reference: str) -> None:
        module_name, _, attribute = reference.partition(":")
        defaults = getattr(importlib.import_module(module_name), attribute)
        annotated = {group["name"]: group.get("default", "") for group in groups}
        for name in sorted(set(defaults) - set(annotated)):
            self.warn(f"setting {name} has a default in {reference} but no annotation")
        for name in sorted(set(annotated) - set(defaults)):
            self.warn(f"setting {name} is annotated but has no default in {reference}")
        for name, text in annotated.items():
            if name in defaults and not _same_value(text, defaults[name]):
                self.warn(f"setting {name}: annotated default {text} is not the real one, {defaults[name]!r}")

    def _entry(self, kind: str, group: dict[str, str]) -> list[str]:
        name = group.get("name", "?")
        lines = [f".. _{kind}-{name}:", "", name, "-" * len(name), ""]
        fields = [("Default", _literal(group.get("default", "")))]
        if kind == "toggle":
            fields += [
                ("Implementation", group.get("implementation", "")),
                ("Use cases", group.get("use_cases", "")),
                ("Created", group.get("creation_date", "")),
            ]
            if group.get("target_removal_date"):
                fields.append(("Target removal", group["target_removal_date"]))
        lines += [f":{label}: {value}" for label, value in fields] + ["", group.get("description", ""), ""]
        if group.get("warning"):
            lines += [".. warning::", "", "   " + group["warning"], ""]
        return lines


def _same_value(annotated: str, real: Any) -> bool:
    try:
        value = ast.literal_eval(annotated)
    except (ValueError, SyntaxError):
        return False
    return value == real or (isinstance(real, tuple) and value == list(real))


class OpenApiDirective(_RstDirective):
    """``.. virtu-openapi:: PATH``: the contract's operations and schemas."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        path = REPO / self.arguments[0]
        self.env.note_dependency(str(path))
        self.document = yaml.safe_load(path.read_text(encoding="utf-8"))
        info = self.document["info"]
        lines = [f"**{info['title']}**, version {info['version']} (OpenAPI {self.document['openapi']}).", ""]
        lines += [_markdown_inline(info.get("description", "")), ""]
        for server in self.document.get("servers", []):
            lines += [f"Base URL: {_literal(server['url'])}: {_markdown_inline(server.get('description', ''))}", ""]
        for name, scheme in self.document["components"].get("securitySchemes", {}).items():
            lines += [f"Authentication ({name}): {_markdown_inline(scheme.get('description', ''))}", ""]
        lines += self._heading("Operations", "=")
        for path_name, operations in self.document["paths"].items():
            for method, operation in operations.items():
                lines += self._operation(path_name, method, operation)
        lines += self._heading("Schemas", "=")
        for name, schema in self.document["components"]["schemas"].items():
            lines += self._schema(name, schema)
        return self.render(lines)

    @staticmethod
    def _heading(title: str, underline: str, label: str | None = None) -> list[str]:
        return ([f".. _{label}:", ""] if label else []) + [title, underline * len(title), ""]

    def _resolve(self, item: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in item:
            target: Any = self.document
            for part in item["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            item = target
        return item

    def _operation(self, path_name: str, method: str, operation: dict[str, Any]) -> list[str]:
        title = f"{method.upper()} {path_name}"
        lines = self._heading(title, "-", f"openapi-{operation['operationId']}")
        lines += [f"**{_markdown_inline(operation.get('summary', ''))}** (``{operation['operationId']}``)", ""]
        if operation.get("description"):
            lines += [_markdown_inline(operation["description"]), ""]
        parameters = [self._resolve(parameter) for parameter in operation.get("parameters", [])]
        if parameters:
            lines += [".. list-table:: Parameters", "   :header-rows: 1", "   :widths: 20 10 10 60", ""]
            lines += ["   * - Name", "     - In", "     - Required", "     - Description"]
            for parameter in parameters:
                lines += [
                    f"   * - {_literal(parameter['name'])}",
                    f"     - {parameter['in']}",
                    f"     - {'yes' if parameter.get('required') else 'no'}",
                    f"     - {_markdown_inline(parameter.get('description', '')).replace(chr(10), ' ')}",
                ]
            lines.append("")
        body = operation.get("requestBody")
        if body:
            schema = body["content"]["application/json"]["schema"]
            lines += [f"Request body: {self._type(schema)}. {_markdown_inline(body.get('description', ''))}", ""]
        lines += [".. list-table:: Responses", "   :header-rows: 1", "   :widths: 10 70 20", ""]
        lines += ["   * - Status", "     - Meaning", "     - Body"]
        for status, response in operation["responses"].items():
            response = self._resolve(response)
            content = response.get("content", {}).get("application/json", {})
            body_type = self._type(content["schema"]) if content else ""
            description = _markdown_inline(response.get("description", "")).replace("\n", " ")
            lines += [f"   * - {status}", f"     - {description}", f"     - {body_type}"]
        return [*lines, ""]

    def _type(self, schema: dict[str, Any]) -> str:
        """A one-line summary of a schema, with links to named schemas."""
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            return f":ref:`{name} <openapi-schema-{name}>`"
        if "const" in schema:
            return _literal(repr(schema["const"]).replace("'", '"'))
        if "enum" in schema:
            return " | ".join(_literal(str(value)) for value in schema["enum"])
        for combinator in ("oneOf", "anyOf"):
            if combinator in schema and all("$ref" in option for option in schema[combinator]):
                return " | ".join(self._type(option) for option in schema[combinator])
        kind = schema.get("type", "any")
        if isinstance(kind, list):
            kind = " | ".join(kind)
        if kind == "array" and "items" in schema:
            return f"array of {self._type(schema['items'])}"
        return kind

    def _schema(self, name: str, schema: dict[str, Any]) -> list[str]:
        lines = self._heading(name, "-", f"openapi-schema-{name}")
        if schema.get("description"):
            lines += [_markdown_inline(schema["description"]), ""]
        properties = schema.get("properties", {})
        if properties:
            required = set(schema.get("required", []))
            lines += [".. list-table::", "   :header-rows: 1", "   :widths: 25 10 65", ""]
            lines += ["   * - Property", "     - Required", "     - Type"]
            for property_name, definition in properties.items():
                lines += [
                    f"   * - {_literal(property_name)}",
                    f"     - {'yes' if property_name in required else 'no'}",
                    f"     - {self._type(definition)}",
                ]
            lines.append("")
        else:
            lines += [f"Type: {self._type(schema)}", ""]
        definition = yaml.safe_dump(schema, sort_keys=False, allow_unicode=True, width=100).rstrip()
        lines += [".. code-block:: yaml", ""] + ["   " + line for line in definition.splitlines()] + [""]
        return lines


# The options every Django command has; the reference lists the command's own.
_DJANGO_DESTS = {"help", "version", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks"}


class CommandDirective(_RstDirective):
    """``.. virtu-command:: NAME``: a management command's usage and options."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        from django.core.management import load_command_class  # Django is set up in conf.py

        name = self.arguments[0]
        command = load_command_class("virtu_sync_plugin", name)
        module = importlib.import_module(type(command).__module__)
        self.env.note_dependency(module.__file__)
        parser = command.create_parser("manage.py", name)
        usage = parser.format_usage().removeprefix("usage: ").strip()
        lines = [_markdown_inline(command.help), "", ".. code-block:: text", ""]
        lines += ["   " + line for line in usage.splitlines()] + [""]
        for group in parser._action_groups:  # argparse keeps its groups there
            actions = [action for action in group._group_actions if action.dest not in _DJANGO_DESTS]
            if not actions:
                continue
            title = {"positional arguments": "Arguments", "options": "Options"}.get(group.title, group.title)
            lines += [f"**{title[:1].upper() + title[1:]}**", ""]
            for action in actions:
                lines += self._option(action)
        if module.__doc__:
            lines += ["**Details** (from the command's module docstring)", ""]
            lines += (
                [".. code-block:: text", ""] + ["   " + line for line in module.__doc__.strip().splitlines()] + [""]
            )
        return self.render(lines)

    @staticmethod
    def _option(action) -> list[str]:
        if action.option_strings:
            metavar = action.metavar or (action.dest.upper() if action.nargs != 0 else None)
            names = ", ".join(f"{option} {metavar}" if metavar else option for option in action.option_strings)
        else:
            names = action.metavar or action.dest
        text = (action.help or "").replace("%(default)s", str(action.default)).replace("%%", "%")
        if action.dest == "verbosity":
            text = "0 = quiet, 1 = normal (default), 2 = every operation or drifted entity, 3 = more"
        extras = []
        if action.default not in (None, False, [], "==SUPPRESS==") and action.option_strings:
            extras.append(f"default: {action.default}")
        if getattr(action, "choices", None):
            extras.append("one of " + ", ".join(map(str, action.choices)))
        suffix = f" ({'; '.join(extras)})" if extras else ""
        return [_literal(names), f"   {text[:1].upper() + text[1:]}{suffix}", ""]


def setup(app):
    app.add_directive("virtu-annotations", AnnotationsDirective)
    app.add_directive("virtu-openapi", OpenApiDirective)
    app.add_directive("virtu-command", CommandDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
