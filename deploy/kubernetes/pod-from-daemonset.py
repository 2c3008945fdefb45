#!/usr/bin/env python3
"""Turns cubemesh.yaml into what `podman kube play` runs: the ConfigMaps as
they are, and the DaemonSet's pod template as a Pod (podman 4.3 plays Pods,
Deployments and ConfigMaps, not DaemonSets). The Namespace is dropped; a
downward-API spec.nodeName becomes this host's name (podman does not resolve
it). The pod template itself is not changed: what podman runs is what each
node of a cluster runs.

  pod-from-daemonset.py cubemesh.yaml [--name POD] [--node NAME] > pod.yaml
"""
import argparse
import os
import sys

import yaml


def literal(dumper, s):
    # A ConfigMap's file stays readable: multi-line strings as blocks.
    return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)


def main():
    yaml.SafeDumper.add_representer(str, literal)
    ap = argparse.ArgumentParser()
    ap.add_argument("manifest")
    ap.add_argument("--name", help="the Pod's name (default: the DaemonSet's)")
    ap.add_argument("--node", default=os.uname().nodename, help="the node name spec.nodeName stands for")
    a = ap.parse_args()
    with open(a.manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    out = []
    for d in docs:
        kind = d.get("kind")
        if kind == "ConfigMap":
            d["metadata"].pop("namespace", None)
            out.append(d)
        elif kind == "DaemonSet":
            tpl = d["spec"]["template"]
            spec = tpl["spec"]
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                for e in c.get("env", []):
                    ref = (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
                    if ref == "spec.nodeName":
                        e.pop("valueFrom")
                        e["value"] = a.node
            # podman 4.3 reads a container's seccomp profile from the
            # annotations Kubernetes used before securityContext had one.
            notes = dict(tpl["metadata"].get("annotations", {}))
            for c in spec.get("containers", []):
                prof = c.get("securityContext", {}).get("seccompProfile", {}).get("type")
                if prof == "Unconfined":
                    notes["container.seccomp.security.alpha.kubernetes.io/" + c["name"]] = "unconfined"
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": a.name or d["metadata"]["name"], "labels": tpl["metadata"].get("labels", {}),
                             "annotations": notes},
                "spec": spec,
            }
            out.append(pod)
        elif kind not in ("Namespace",):
            sys.exit(f"pod-from-daemonset: {kind} is not handled")
    if not any(d["kind"] == "Pod" for d in out):
        sys.exit("pod-from-daemonset: no DaemonSet in " + a.manifest)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
