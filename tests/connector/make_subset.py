"""Writes dn_schema_subset.graphql: the part of DN's official schema (dn_schema.graphql) that the
connector's documents use — each type with only the fields they select (input types, enums and
scalars whole). The fake DN of the tests serves this subset. Run again when a document changes:
`python -m tests.connector.make_subset`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import graphql
from graphql import (
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)

HERE = Path(__file__).resolve().parent
DOCUMENTS = HERE.parents[1] / "services" / "connector" / "graphql"
HEADER = """# A subset of DN's official GraphQL schema (dn_schema.graphql: demarches-simplifiees.fr commit
# e1338d79114265bb1ee774235e1be64962e60d09, app/graphql/schema.graphql): the types and fields the
# connector's documents (services/connector/graphql/*.graphql) select, written by make_subset.py.
# The fake DN server of the tests serves it.
"""


def used_fields(schema: graphql.GraphQLSchema) -> tuple[dict[str, set[str]], set[str]]:
    fields: dict[str, set[str]] = {}
    conditions: set[str] = set()
    for path in sorted(DOCUMENTS.glob("*.graphql")):
        info = TypeInfo(schema)

        class Collect(Visitor):
            def enter_field(self, node, *_, info=info):
                parent = info.get_parent_type()
                if parent is not None and node.name.value != "__typename":
                    fields.setdefault(parent.name, set()).add(node.name.value)

            def enter_inline_fragment(self, node, *_):
                if node.type_condition:
                    conditions.add(node.type_condition.name.value)

            def enter_fragment_definition(self, node, *_):
                conditions.add(node.type_condition.name.value)

            def enter_variable_definition(self, node, *_):
                conditions.add(get_named_type(graphql.type_from_ast(schema, node.type)).name)

        visit(graphql.parse(path.read_text()), TypeInfoVisitor(info, Collect()))
    return fields, conditions


def subset(schema: graphql.GraphQLSchema) -> str:
    fields, conditions = used_fields(schema)
    keep: set[str] = set()
    todo = list(fields) + list(conditions)
    while todo:
        name = todo.pop()
        if name in keep or name.startswith("__"):
            continue
        keep.add(name)
        t = schema.get_type(name)
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType)):
            for f in fields.get(name, ()):
                field = t.fields[f]
                todo.append(get_named_type(field.type).name)
                todo += [get_named_type(a.type).name for a in field.args.values()]
            for i in t.interfaces:
                if i.name in fields or i.name in conditions:
                    todo.append(i.name)
        elif isinstance(t, GraphQLInputObjectType):
            todo += [get_named_type(f.type).name for f in t.fields.values()]
    # every kind of champ descriptor: a démarche's form may hold any of them, and the fake serves them all
    descriptor = schema.get_type("ChampDescriptor")
    keep.update(
        t.name for t in schema.type_map.values() if isinstance(t, GraphQLObjectType) and descriptor in t.interfaces
    )
    for name in keep:  # an interface of which only `__typename` is selected keeps its first field
        t = schema.get_type(name)
        if isinstance(t, GraphQLInterfaceType) and not fields.get(name):
            fields[name] = {next(iter(t.fields))}
    definitions = []
    for node in graphql.parse((HERE / "dn_schema.graphql").read_text()).definitions:
        name = getattr(getattr(node, "name", None), "value", None)
        if isinstance(node, graphql.DirectiveDefinitionNode):
            definitions.append(node)
            continue
        if name not in keep or name in ("String", "Int", "Float", "Boolean", "ID"):
            continue
        if isinstance(node, (graphql.ObjectTypeDefinitionNode, graphql.InterfaceTypeDefinitionNode)):
            wanted = set(fields.get(name, ()))
            interfaces = tuple(i for i in node.interfaces or () if i.name.value in keep)
            for i in interfaces:
                wanted |= fields.get(i.name.value, set())
            # a type must keep one field: only `__typename` selected keeps its first one (id)
            wanted = wanted or {node.fields[0].name.value}
            node = replace(node, fields=tuple(f for f in node.fields if f.name.value in wanted), interfaces=interfaces)
        elif isinstance(node, graphql.UnionTypeDefinitionNode):
            node = replace(node, types=tuple(t for t in node.types if t.name.value in keep))
        definitions.append(node)
    return HEADER + "\n" + graphql.print_ast(graphql.DocumentNode(definitions=tuple(definitions))) + "\n"


def main() -> None:
    schema = graphql.build_schema((HERE / "dn_schema.graphql").read_text())
    (HERE / "dn_schema_subset.graphql").write_text(subset(schema))


if __name__ == "__main__":
    main()
