import pytest

from simulacra.spec import Spec


@pytest.fixture
def one_table():
    """Build a single-table spec from a columns mapping (and optional constraints)."""

    def make(columns, constraints=None, rows=1000):
        table = {"rows": rows, "columns": columns}
        if constraints:
            table["constraints"] = constraints
        return Spec.from_dict({"tables": {"t": table}})

    return make
