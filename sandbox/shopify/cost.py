"""Query cost as Shopify calculates it (close enough to plan with).

Scalars and enums cost 0, an object 1, a connection 2 + `first` (or `last`) times the cost of
one node, a mutation field 10. The requested cost is computed from the query before it runs;
the actual cost from what it returned (fewer nodes than `first` cost less).
"""

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10
MAX_QUERY_COST = 1000


def _is_connection(named) -> bool:
    return (
        isinstance(named, GraphQLObjectType)
        and named.name.endswith("Connection")
        and "pageInfo" in named.fields
    )


def _is_list(type_) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _Walker:
    def __init__(self, schema, document, variables):
        self.schema = schema
        self.variables = variables or {}
        self.fragments = {
            d.name.value: d for d in document.definitions if d.kind == "fragment_definition"
        }

    def _arg(self, node: FieldNode, name: str):
        for arg in node.arguments or ():
            if arg.name.value == name:
                return value_from_ast_untyped(arg.value, self.variables)
        return None

    def _fields(self, selection_set, parent):
        """(field node, its parent type) for every field, fragments flattened."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                cond = selection.type_condition
                sub = self.schema.get_type(cond.name.value) if cond else parent
                yield from self._fields(selection.selection_set, sub or parent)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    sub = self.schema.get_type(fragment.type_condition.name.value)
                    yield from self._fields(fragment.selection_set, sub or parent)

    def selection(self, selection_set, parent, data, requested: bool) -> int:
        total = 0
        for node, parent_type in self._fields(selection_set, parent):
            name = node.name.value
            if name.startswith("__") or not isinstance(
                parent_type, GraphQLObjectType | GraphQLInterfaceType
            ):
                continue
            field = parent_type.fields.get(name)
            if field is None:
                continue
            key = node.alias.value if node.alias else name
            if requested:
                total += self.field(node, field, None, True)
            elif isinstance(data, dict) and key in data:
                total += self.field(node, field, data[key], False)
        return total

    def field(self, node: FieldNode, field, value, requested: bool) -> int:
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return 0
        if _is_connection(named):
            return self.connection(node, named, value, requested)
        if isinstance(named, GraphQLUnionType):
            named = None
        if _is_list(field.type):
            if requested:
                ids = self._arg(node, "ids")
                count = len(ids) if isinstance(ids, list) else 1
                return count * (1 + self.selection(node.selection_set, named, None, True))
            return sum(
                1 + self.selection(node.selection_set, named, item, False) for item in value or ()
            )
        if not requested and value is None:
            return 1
        return 1 + self.selection(node.selection_set, named, value, requested)

    def connection(self, node: FieldNode, named, value, requested: bool) -> int:
        if requested:
            size = self._arg(node, "first") or self._arg(node, "last") or 1
            return 2 + size * self._per_node(node, named)
        if not isinstance(value, dict):
            return 2
        total = 2
        for inner, _ in self._fields(node.selection_set, named):
            key = inner.alias.value if inner.alias else inner.name.value
            items = value.get(key)
            if inner.name.value == "nodes" and isinstance(items, list):
                node_type = get_named_type(named.fields["nodes"].type)
                total += sum(
                    1 + self.selection(inner.selection_set, node_type, item, False)
                    for item in items
                )
            elif inner.name.value == "edges" and isinstance(items, list):
                edge_type = get_named_type(named.fields["edges"].type)
                total += sum(
                    self.selection(inner.selection_set, edge_type, edge, False) for edge in items
                )
        return total

    def _per_node(self, node: FieldNode, named) -> int:
        """Cost of one node of a connection (nodes and edges selections together)."""
        cost = 0
        for inner, _ in self._fields(node.selection_set, named):
            if inner.name.value == "nodes":
                node_type = get_named_type(named.fields["nodes"].type)
                cost += 1 + self.selection(inner.selection_set, node_type, None, True)
            elif inner.name.value == "edges":
                edge_type = get_named_type(named.fields["edges"].type)
                cost += self.selection(inner.selection_set, edge_type, None, True)
        return cost


def query_cost(schema, document, operation: OperationDefinitionNode, variables, data=None):
    """The requested cost (data None) or the actual cost of `operation` given its result."""
    walker = _Walker(schema, document, variables)
    if operation.operation == OperationType.MUTATION:
        fields = list(walker._fields(operation.selection_set, schema.mutation_type))
        if data is None:
            return MUTATION_COST * len(fields)
        return MUTATION_COST * sum(
            1 for node, _ in fields if (node.alias or node.name).value in (data or {})
        )
    root = schema.query_type
    if data is None:
        return walker.selection(operation.selection_set, root, None, True)
    return walker.selection(operation.selection_set, root, data, False)
