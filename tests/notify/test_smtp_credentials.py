"""SMTP credentials: from the environment by default, from a Prefect Secret block when config names one."""

from __future__ import annotations

import pytest

from annex.model.config import Smtp


def test_credentials_come_from_the_environment_variables_config_names(monkeypatch):
    from annex.notify.mail import SmtpMailer

    monkeypatch.setenv("MY_SMTP_USER", "secretariat")
    monkeypatch.setenv("MY_SMTP_PASS", "from-env")
    settings = Smtp(sender="annex@csti.example", username_env="MY_SMTP_USER", password_env="MY_SMTP_PASS")
    mailer = SmtpMailer.from_environment(settings)
    assert (mailer.username, mailer.password) == ("secretariat", "from-env")


@pytest.mark.e2e
def test_a_secret_block_overrides_the_environment_password(prefect_server, monkeypatch):
    from prefect.blocks.system import Secret

    from tasks.mailer import smtp_mailer

    Secret(value="from-block").save("annex-smtp-test", overwrite=True)
    monkeypatch.setenv("ANNEX_SMTP_USERNAME", "secretariat")
    monkeypatch.setenv("ANNEX_SMTP_PASSWORD", "from-env")
    mailer = smtp_mailer(Smtp(sender="annex@csti.example", password_block="annex-smtp-test"))
    assert (mailer.username, mailer.password) == ("secretariat", "from-block")
    assert smtp_mailer(Smtp(sender="annex@csti.example")).password == "from-env"
