// Command nnp prints its effective user ID. Installed setuid root in the
// nonewprivs test image, it shows whether no_new_privs stopped the privilege
// gain: "Effective uid: 0" without it, the caller's uid with it.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Printf("Effective uid: %d\n", os.Geteuid())
}
