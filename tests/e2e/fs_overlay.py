# Writes to the read-only root land in the sandbox's memory only.
import hashlib, os

print("passwd lines before:", len(open("/etc/passwd").read().splitlines()) > 0)
with open("/etc/passwd", "a") as f:
    f.write("husk-e2e:x:4242:4242::/:/bin/false\n")
print("appended:", open("/etc/passwd").read().endswith("/bin/false\n"))
os.makedirs("/etc/husk-e2e/sub")
with open("/etc/husk-e2e/sub/f", "w") as f:
    f.write("in memory")
os.rename("/etc/husk-e2e/sub/f", "/etc/husk-e2e/g")
print(sorted(os.listdir("/etc/husk-e2e")), open("/etc/husk-e2e/g").read())
os.remove("/etc/hostname") if os.path.exists("/etc/hostname") else None
print("hostname removed:", not os.path.exists("/etc/hostname"))
with open("/usr/bin/husk-e2e-tool", "w") as f:
    f.write("#!/bin/sh\n")
print("new file in /usr/bin:", os.path.exists("/usr/bin/husk-e2e-tool"))
