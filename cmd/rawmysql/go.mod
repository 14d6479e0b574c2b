module github.com/rawmysql/rawmysql/cmd/rawmysql

go 1.24.0

require (
	github.com/creack/pty v1.1.24
	github.com/mattn/go-runewidth v0.0.31
	github.com/peterh/liner v1.2.2
	github.com/rawmysql/rawmysql v0.0.0
	github.com/stretchr/testify v1.12.1
)

require (
	filippo.io/edwards25519 v1.2.0 // indirect
	github.com/clipperhouse/uax29/v2 v2.2.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.28.0 // indirect
)

replace github.com/rawmysql/rawmysql => ../..
