# Two entry points: `make demo` and `make test`. Both bootstrap .venv from nothing but python3.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
PAXIOM  := $(VENV)/bin/paxiom

.PHONY: demo test venv java chromium pytest typecheck lint crosshair tlc bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q composable-paxos==1.0.0  # a third-party target of the conformance tests only
	touch $(STAMP)

venv: $(STAMP)

# TLC needs a Java runtime; install Debian's if the machine has none.
java:
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq default-jre-headless; }

# The linearizability timeline tests render HTML in headless Chromium; install Debian's if the machine has none.
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

pytest: venv java chromium
	$(PY) -m pytest -q

typecheck: venv
	$(VENV)/bin/mypy --strict -p paxiom

lint: venv
	$(VENV)/bin/ruff check .

# The spec's PEP 316 contracts (acceptor rules, the leader's highest-vote rule), within a bounded time.
CROSSHAIR_TARGETS := paxiom/spec/acceptor.py paxiom/spec/voting.py
crosshair: venv
	$(VENV)/bin/crosshair check --analysis_kind=PEP316 --per_condition_timeout=8 $(CROSSHAIR_TARGETS)

# Every TLC model in tla/ gives the verdict its config names (unsafe quorum models: agreement violated),
# and the Python explorer on the same constants agrees with TLC.
tlc: venv java
	$(PAXIOM) tla check --twin --expected

test: pytest typecheck lint crosshair tlc

# Every benchmark, each printing ratios against its named peer measured in the same run (tens of minutes).
BENCHES := explorer_vs_tlc proofs quorum_scale cluster_load storage lin oracle mutants conformance_mutants replication campaign fastpaxos fastpaxos_service cheap_liveness hunt_scale coverage
bench: venv java
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit 1; done

demo: venv java
	bash scripts/demo.sh

clean:
	rm -rf $(VENV) build dist *.egg-info
