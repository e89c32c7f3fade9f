"""The README's curl walk, run as written against a live server on the demo data."""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from marketplace.demo import credentials
from marketplace.demo.service import load
from marketplace.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def walk_script() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- walk:start -->\s*```bash\n(.*?)```\s*<!-- walk:end -->", text, re.S).group(1)
    return block


def test_readme_walk(app, tmp_path, database_url):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"  # issuer and log origin, set before use
    load()
    creds = credentials.ensure(tmp_path / "demo-credentials.json")
    db.session.commit()
    db.session.remove()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**os.environ, "BASE": f"http://127.0.0.1:{server.server_port}", "CREDS": str(creds),
               "MP": str(Path(sys.executable).parent / "marketplace"), "DATABASE_URL": database_url,
               "MARKETPLACE_INSTANCE_PATH": app.instance_path}
        def walk():
            return subprocess.run(["bash", "-euo", "pipefail", "-c", walk_script()], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=120)

        out = walk()
        again = walk()  # the README says a second run stops at step 1, naming the API's answer
    finally:
        server.shutdown()
        thread.join(10)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert "total 2000000000 JPY" in lines
    assert any(ln.startswith("floor") and "1300000000" in ln for ln in lines)
    assert "({'amount': '1000000000', 'currency': 'JPY'}, {'amount': '1052631579', 'currency': 'JPY'})" in lines
    assert "'approved'" in out.stdout and "{'created': 12, 'corrected': 0, 'unchanged': 0}" in lines
    assert lines[-1].startswith("(422,") and "#/period" in lines[-1] and "#/colour" in lines[-1]
    assert any("Hot-wallet theft cover" in ln and "['insurer_rating']" in ln for ln in lines)
    assert "('quoted', {'amount': '50000000', 'currency': 'JPY'}, '2027-11-30')" in lines
    assert "accepted" in lines and "live" in lines
    assert ("(['40000000', '722000000'], {'amount': '722000000', 'currency': 'JPY'}, "
            "{'amount': '1278000000', 'currency': 'JPY'})") in lines
    assert "(409, {'amount': '200000000', 'currency': 'JPY'})" in lines
    assert "('attested revision', 1)" in lines
    assert lines.count("VALID") == 3  # JWS, bundle and PDF, each verified offline
    assert any(ln.startswith("(True, ['platform key ") and "is retired" in ln for ln in lines)
    revoked = next(ln for ln in lines if ln.startswith("(False, ['revoked: "))
    assert "policy TMC-FUJI-0001 cancelled on" in revoked
    assert "audit OK" in lines
    # run again, it stops where the API says no, naming the answer (as the README says), not with a traceback
    assert again.returncode != 0
    assert "409 Conflict: licence Kanto-FB-00300 is already registered in JP" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr
