module github.com/rawmysql/rawmysql

go 1.24.0

require (
	filippo.io/edwards25519 v1.2.0
	github.com/stretchr/testify v1.12.1
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
