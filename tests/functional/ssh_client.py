"""The host's OpenSSH client for the tests that log into the demo images: fresh ed25519
keys and one batch-mode login per call (no agent, no config, no known_hosts)."""

import subprocess


def keypair(directory, name):
    """(private key path, public key line) of a new ed25519 key in ``directory``."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                    str(directory / name)], check=True)
    return directory / name, (directory / (name + ".pub")).read_text().strip()


def ssh(key, host, port=22, command="true", timeout=20, prefix=()):
    """One login as root with ``key`` only (None: no key at all); the completed process.
    ``prefix`` runs the client through another command (``nsenter ... --``)."""
    auth = ["-i", str(key), "-o", "IdentitiesOnly=yes"] if key else [
        "-o", "PubkeyAuthentication=no"]
    return subprocess.run(
        [*prefix, "ssh", "-F", "/dev/null", *auth, "-p", str(port), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "root@%s" % host, command],
        capture_output=True, text=True, timeout=timeout, check=False)


def logged_in(key, host, port=22, prefix=()):
    """The completed login when it succeeded, else None (for ``base.wait_until``)."""
    result = ssh(key, host, port, prefix=prefix)
    return result if result.returncode == 0 else None


def refused(result):
    return result.returncode == 255 and "Permission denied" in result.stderr
