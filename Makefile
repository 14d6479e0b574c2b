# rawmysql developer tasks. `make test` is what CI runs (.ci/run).

# Go modules of this repository, tested in this order; directories without a go.mod are skipped, so modules can be
# listed before they exist.
MODULES ?= . bench compat cmd/rawmysql

# How long each fuzz target runs under `make fuzz`, and extra flags for it (e.g. FUZZFLAGS='-parallel 1').
FUZZTIME ?= 10s
FUZZFLAGS ?=

GO ?= go
GOBIN_DIR := $(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin
STATICCHECK := $(GOBIN_DIR)/staticcheck

.DEFAULT_GOAL := test
.PHONY: run test deps fuzz lint bench

## run: run the example program
run:
	$(GO) run ./examples/basic

## test: vet and race-test every module; server tests start a private mariadbd (see internal/testserver)
test: deps
	@set -e; for m in $(MODULES); do \
		if [ -f "$$m/go.mod" ]; then \
			echo "== $$m: go vet && go test -race"; \
			(cd "$$m" && $(GO) vet ./... && $(GO) test -race -count=1 ./...); \
		fi; \
	done

## deps: make sure a MariaDB server binary is installed for the private test servers (installs it when root)
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

## fuzz: run every Fuzz target of the root module for $(FUZZTIME) each
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		names=$$($(GO) test -list '^Fuzz' "$$pkg") || exit 1; \
		for name in $$(printf '%s\n' "$$names" | grep '^Fuzz' || true); do \
			echo "== $$pkg $$name"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) "$$pkg"; \
		done; \
	done

## lint: go vet, staticcheck, and the rule that protocol/ never imports database/sql
lint:
	$(GO) vet ./...
	@[ -x "$(STATICCHECK)" ] || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	"$(STATICCHECK)" ./...
	@deps=$$($(GO) list -deps ./protocol) || exit 1; \
	if printf '%s\n' "$$deps" | grep -q '^database/sql'; then \
		echo "lint: package protocol must not import database/sql:"; \
		printf '%s\n' "$$deps" | grep '^database/sql'; \
		exit 1; \
	fi

## bench: run the comparison benchmark program in bench/
bench:
	@if [ -d bench ]; then \
		cd bench && $(GO) run .; \
	else \
		echo "bench/ does not exist yet"; \
	fi
