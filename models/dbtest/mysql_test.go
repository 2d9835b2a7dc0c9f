package dbtest

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// skippedNotice is what a run without MySQL says once.
const skippedNotice = "NOTE: the MySQL half of the tests was skipped: PORTAL_TEST_MYSQL_DSN is not set, so only SQLite was tested\n" +
	"      (set it to a server, e.g. PORTAL_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306/test, to test MySQL/MariaDB as well)"

// skipStamp is the file whose fresh writing keeps the skip uncached; it is
// in this package's folder (the test's working directory) and ignored by git.
const skipStamp = "mysql-skipped.stamp"

// TestMySQLHalf says, once per `go test ./...`, that the MySQL half of
// every package's tests was skipped. go test shows nothing of a passing
// package but its "ok" line, whatever the test writes to its output, so
// the notice goes to the terminal (/dev/tty) as well as to the test's log
// (seen with -v). And since a cached result is replayed without running
// the test, the run touches a file of its own, which keeps go test from
// caching this one small test while the notice applies. With CI=true a
// missing MySQL fails instead (in Databases).
func TestMySQLHalf(t *testing.T) {
	if os.Getenv("PORTAL_TEST_MYSQL_DSN") != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		Databases(t) // fails
		return
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		fmt.Fprintln(tty, skippedNotice)
		tty.Close()
	}
	// go test does not cache a result that opened a file of the module
	// changed within the last seconds (files outside it are not looked at).
	_ = os.WriteFile(skipStamp, []byte(time.Now().Format(time.RFC3339Nano)+"\n"), 0o644)
	t.Skip(skippedNotice)
}
