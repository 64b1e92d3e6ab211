// Command kubectl is upstream's kubectl (k8s.io/kubernetes/cmd/kubectl), built from the
// k8s.io/kubernetes Go module pinned in ../../go.mod, so a machine without kubectl (or with a
// client too far from the server's version) still drives the local control plane.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	// Import to initialize client auth plugins.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		// Pretty-print the error and exit with an error.
		util.CheckErr(err)
	}
}
