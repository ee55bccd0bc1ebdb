package testenv_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// environment's Stop must release all it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
