# rawmysql developer tasks. `make test` is what CI runs (.ci/run).

# Go modules of this repository, tested in this order; directories without a go.mod are skipped, so modules can be
# listed before they exist. Each is tested on its own (GOWORK=off): go.work only lets `go run ./cmd/rawmysql` work
# from the root.
MODULES ?= . bench compat cmd/rawmysql cmd/rawmysql/demo examples/tracing internal/testenv

# The server matrix: RAWMYSQL_TEST_SERVER values (Docker images built once per machine by
# internal/testserver/images/build.sh), and the modules whose tests talk to a real server.
MATRIX ?= mysql-9.7 mariadb-10.5 mariadb-10.11 mariadb-11.8
SERVER_MODULES ?= . cmd/rawmysql compat
# `make test-server SERVER=...` runs SERVER_MODULES against one server of the matrix.
SERVER ?= mysql-9.7

# Every go test gets an explicit timeout (Go's default of 10 minutes is too short for a loaded machine).
TEST_TIMEOUT ?= 30m
TESTFLAGS ?= -race -count=1

# Statements `make run` sends to the embedded server (the sample shop database of cmd/rawmysql/demo).
DEMO_SQL ?= SELECT VERSION() AS server_version; \
	SELECT id, name, city, joined FROM customers ORDER BY id; \
	SELECT c.name AS customer, COUNT(DISTINCT o.id) AS orders, SUM(i.quantity * p.price) AS spent \
	  FROM customers c JOIN orders o ON o.customer_id = c.id JOIN order_items i ON i.order_id = o.id \
	  JOIN products p ON p.id = i.product_id GROUP BY c.name ORDER BY spent DESC; \
	INSERT INTO products VALUES (5, 'Webcam', 59.00, 10); \
	UPDATE products SET stock = stock - 1 WHERE name = 'Webcam'; \
	SELECT name, price, stock FROM products WHERE stock < 50 ORDER BY price

# How long each fuzz target runs under `make fuzz` (and under `make fuzz-smoke`, the short pass CI runs), and
# extra flags for it (e.g. FUZZFLAGS='-parallel 1'). The smoke pass counts executions (a few seconds each when
# idle) instead of wall time: Go before 1.27 may fail a target with a bare "context deadline exceeded" when a
# duration -fuzztime ends while a starved worker is mid-call (go.dev/issue/75804), and CI's machine is loaded.
FUZZTIME ?= 10s
FUZZ_SMOKE_TIME ?= 20000x
FUZZFLAGS ?=

GO ?= go
# Tools pinned by version, installed on first use into .tools/ (gitignored) so that every machine lints alike.
TOOLS_DIR := $(CURDIR)/.tools
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(TOOLS_DIR)/staticcheck-$(STATICCHECK_VERSION)/staticcheck

.DEFAULT_GOAL := test
# internal/testenv (the dockertest module) built once, so test binaries do not each `go run` it.
TESTENV := $(CURDIR)/.testenv/testenv

.PHONY: run test test-ha test-compressed deps deps-ha fuzz fuzz-smoke lint bench testenv images test-server test-matrix compat-servers

## run: run the rawmysql CLI against an embedded in-memory server (cmd/rawmysql/demo; no database needed)
run:
	@echo "== make run: cmd/rawmysql/demo = the rawmysql client + an embedded go-mysql-server (the client binary itself links no server)"
	@echo "== building it; the first time, its modules (~440 MB) are downloaded and compiled (minutes): each download and package is listed"
	cd cmd/rawmysql/demo && GOWORK=off $(GO) build -v -o /dev/null .
	@echo "== running the demo statements"
	cd cmd/rawmysql/demo && GOWORK=off $(GO) run . -e "$(DEMO_SQL)"

# The root tests that also run with the build tag rawmysql_safe (box_safe.go: row values boxed without unsafe).
SAFE_RUN ?= Box|ParseFloat|SessionReplay|AllTypesTextProtocol|ParseTimeOffAndLoc|CachedStatementEveryArgType|Hostile

## test: vet and race-test every module; server tests start a private mariadbd (see internal/testserver); then
## the row-value tests of the root once more with -tags rawmysql_safe
test: deps
	@set -e; for m in $(MODULES); do \
		if [ -f "$$m/go.mod" ]; then \
			echo "== $$m: go vet && go test -race"; \
			(cd "$$m" && GOWORK=off $(GO) vet ./... && GOWORK=off $(GO) test $(TESTFLAGS) -timeout $(TEST_TIMEOUT) ./...); \
		fi; \
	done
	@echo "== .: go vet && go test -race -tags rawmysql_safe -run '$(SAFE_RUN)' (the safe boxer)"
	@GOWORK=off $(GO) vet -tags rawmysql_safe . && \
		GOWORK=off $(GO) test $(TESTFLAGS) -tags rawmysql_safe -timeout $(TEST_TIMEOUT) -run '$(SAFE_RUN)' .

# `make test-ha`: the cluster tests (build tag ha) — private MariaDB servers in GTID replication (and MySQL 9.7
# replicas in Docker for the causal reads, skipped without Docker) and a three-node
# Galera cluster on loopback ports. HA_RUN selects them; they skip with one line when mariadbd, the Galera
# provider or rsync is missing.
HA_RUN ?= ^Test(HA|Replication|Galera|Causal|GTIDResult)
HA_PACKAGES ?= . ./internal/testserver

## test-ha: race-test the cluster tests (failover, target servers, Galera, replication) under build tag ha
test-ha: deps deps-ha
	GOWORK=off $(GO) test -tags ha $(TESTFLAGS) -timeout $(TEST_TIMEOUT) -run '$(HA_RUN)' -v $(HA_PACKAGES)

## test-compressed: race-test the root package with every connection compressed (compress=true), against the
## private MariaDB: compression under every feature (pipelines, cancellation, LOAD DATA, large values)
test-compressed: deps
	RAWMYSQL_TEST_PARAMS=compress=true GOWORK=off $(GO) test $(TESTFLAGS) -timeout $(TEST_TIMEOUT) .

## testenv: build internal/testenv, which starts the Docker test servers through dockertest
testenv:
	@mkdir -p "$(dir $(TESTENV))"
	@cd internal/testenv && GOWORK=off $(GO) build -o "$(TESTENV)" .

## images: build the Docker images of every server in MATRIX that is missing (root; debootstrap + docker import)
images: testenv
	@set -e; for s in $(MATRIX); do "$(TESTENV)" build "$$s"; done

## test-server: race-test SERVER_MODULES against SERVER (a container; its image is built first when missing)
test-server: testenv
	@"$(TESTENV)" build "$(SERVER)"
	@failed=""; for m in $(SERVER_MODULES); do \
		echo "== $$m: go test on $(SERVER)"; \
		(cd "$$m" && RAWMYSQL_TEST_SERVER=$(SERVER) RAWMYSQL_TESTENV="$(TESTENV)" RAWMYSQL_REQUIRE_SERVER=1 \
			GOWORK=off $(GO) test $(TESTFLAGS) -timeout $(TEST_TIMEOUT) ./...) || failed="$$failed $$m"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-server: $(SERVER): failed in:$$failed"; exit 1; fi

## test-matrix: the integration suite (SERVER_MODULES) on every server of MATRIX; lists the failing ones at the end
test-matrix: testenv
	@failed=""; for s in $(MATRIX); do \
		echo "=== server $$s"; \
		$(MAKE) --no-print-directory test-server SERVER=$$s || failed="$$failed $$s"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-matrix: failed on:$$failed"; exit 1; fi; \
	echo "test-matrix: passed on $(MATRIX)"

## compat-servers: the driver against MySQL-compatible server code that is not MySQL or MariaDB: dolthub's
## vitess auth server (caching_sha2_password, auth switch, clear password) and go-mysql-server (the engine
## of Dolt; time arguments, cached statements after DDL, the compat scenarios). Not part of CI (make test
## already runs these tests with the rest of compat/). TiDB is not built here yet (see README, Tested servers).
compat-servers:
	cd compat && GOWORK=off $(GO) test $(TESTFLAGS) -timeout $(TEST_TIMEOUT) -run 'Vitess|GMS|TestScenarios' -v ./... \
		| grep -E '^(=== RUN|--- (PASS|FAIL|SKIP)|PASS|FAIL|ok)'

## deps: make sure a MariaDB server binary is installed for the private test servers (installs it when root)
## deps-ha: Galera's provider and rsync (its state transfer) for make test-ha, installed as root when missing
deps-ha:
	@if [ -e /usr/lib/galera/libgalera_smm.so ] && command -v rsync >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "== installing galera-4 and rsync for the cluster tests"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update && apt-get install -y galera-4 rsync; \
	else \
		echo "note: galera-4 or rsync missing; the Galera tests will skip (run make as root to install them)"; \
	fi

deps:
	@if command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 \
		|| [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ]; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "== installing mariadb-server for the test servers"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update && apt-get install -y mariadb-server; \
	else \
		echo "note: no mariadbd/mysqld found; server tests will skip unless RAWMYSQL_TEST_DSN is set or Docker runs" \
			"(install mariadb-server, or run make as root to install it)"; \
	fi

## fuzz: run every Fuzz target of every module for $(FUZZTIME) each (targets found by `func Fuzz` in *_test.go)
fuzz:
	@set -e; n=0; \
	for file in $$(grep -rlE --include='*_test.go' --exclude-dir=.tools --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*\(' . | sort); do \
		dir=$$(dirname "$$file"); \
		for name in $$(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$$file"); do \
			echo "== $$dir $$name ($(FUZZTIME))"; \
			(cd "$$dir" && GOWORK=off $(GO) test -timeout $(TEST_TIMEOUT) -run '^$$' -fuzz "^$$name\$$" \
				-fuzztime $(FUZZTIME) $(FUZZFLAGS) .); \
			n=$$((n + 1)); \
		done; \
	done; \
	echo "fuzz: $$n targets passed ($(FUZZTIME) each)"

## fuzz-smoke: every Fuzz target for $(FUZZ_SMOKE_TIME) each (CI's short pass; a few minutes in all)
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_SMOKE_TIME)

## lint: go vet and staticcheck ($(STATICCHECK_VERSION)) on every module, gofmt, and the rule that protocol/
## never imports database/sql (nor the root package)
lint: $(STATICCHECK)
	@set -e; for m in $(MODULES); do \
		if [ -f "$$m/go.mod" ]; then \
			echo "== $$m: go vet && staticcheck"; \
			(cd "$$m" && GOWORK=off $(GO) vet ./... && GOWORK=off "$(STATICCHECK)" ./...); \
		fi; \
	done
	@echo "== gofmt -l"; \
	unformatted=$$(find . \( -path ./.tools -o -path ./.git \) -prune -o -name '*.go' -print | xargs gofmt -l); \
	if [ -n "$$unformatted" ]; then \
		echo "lint: not gofmt-ed (run gofmt -w):"; printf '%s\n' "$$unformatted"; exit 1; \
	fi
	@echo "== protocol imports"; \
	deps=$$(GOWORK=off $(GO) list -deps ./protocol/...) || exit 1; \
	bad=$$(printf '%s\n' "$$deps" | grep -E '^(database/sql|github\.com/rawmysql/rawmysql$$)' || true); \
	if [ -n "$$bad" ]; then \
		echo "lint: package protocol must not import database/sql or the root package:"; \
		printf '%s\n' "$$bad"; \
		exit 1; \
	fi

$(STATICCHECK):
	@echo "== installing staticcheck $(STATICCHECK_VERSION) into $(dir $(STATICCHECK))"
	@mkdir -p "$(dir $(STATICCHECK))"
	GOWORK=off GOBIN="$(dir $(STATICCHECK))" $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## bench: run the comparison benchmark program in bench/
bench:
	@if [ -d bench ]; then \
		cd bench && GOWORK=off $(GO) run .; \
	else \
		echo "bench/ does not exist yet"; \
	fi
