"""The console's import pages: upload → preview → confirm → progress → results, and who may see them."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from directory.import_services import user_import_create
from directory.models import User, UserImport
from directory.tests.factories import UserFactory
from emailqueue.models import OutboundEmail
from orgs.models import Membership

pytestmark = pytest.mark.django_db
Status = UserImport.Status


def url(name, org, user_import=None):
    kwargs = {"org_slug": org.slug}
    if user_import is not None:
        kwargs["public_id"] = user_import.public_id
    return reverse(f"console:{name}", kwargs=kwargs)


def csv_file(content: bytes | str, name="users.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def make_import(org, actor, text="email,name\nada@example.test,Ada\n") -> UserImport:
    return user_import_create(org=org, actor=actor, filename="users.csv", data=text.encode(), send_invitations=False)


def page_text(response) -> str:
    return response.content.decode()


def test_upload_preview_confirm_progress_results(org_admin_client, org, org_admin, group,
                                                 django_capture_on_commit_callbacks):
    page = org_admin_client.get(url("import-new", org))
    assert page.status_code == 200
    assert "Download a template CSV" in page_text(page)
    template = org_admin_client.get(url("import-template", org))
    assert template.status_code == 200
    assert b"email,name,role,groups,employee_id" in template.content

    response = org_admin_client.post(url("import-new", org), {
        "file": csv_file("email,name,role,groups\nada@example.test,Ada,member,engineering\n"
                         "admin@acme.test,,,\n"),
        "send_invitations": "on",
    })
    user_import = UserImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("import-detail", org, user_import)
    preview = org_admin_client.get(response["Location"])
    text = page_text(preview)
    assert preview.status_code == 200
    assert "ada@example.test" in text
    assert "Create" in text
    assert "Unchanged" in text
    assert "Confirm and import 2 rows" in text
    assert not User.objects.filter(email="ada@example.test").exists()

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = org_admin_client.post(url("import-confirm", org, user_import))
    assert confirmed.status_code == 302
    detail = org_admin_client.get(url("import-detail", org, user_import))
    text = page_text(detail)
    assert "<progress" in text
    assert 'value="2" max="2"' in text
    assert "Download the results (CSV)" in text
    assert "data-poll-url" not in text
    assert Membership.objects.get(org=org, user__email="ada@example.test").status == Membership.Status.INVITED
    assert OutboundEmail.objects.get(kind="invitation").recipient == "ada@example.test"
    assert AuditEvent.objects.get(action="user_import.confirmed").actor == org_admin

    results = org_admin_client.get(url("import-results", org, user_import))
    assert results.status_code == 200
    assert results["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(results.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["line", "email", "outcome", "detail"]
    assert rows[1][:3] == ["2", "ada@example.test", "created"]
    assert rows[1][3] == "Invitation sent."
    assert rows[2][:3] == ["3", "admin@acme.test", "unchanged"]


def test_progress_fragment_polls_while_running(org_admin_client, org, org_admin):
    user_import = make_import(org, org_admin)
    UserImport.objects.filter(pk=user_import.pk).update(status=Status.RUNNING, processed_rows=0)
    response = org_admin_client.get(url("import-progress", org, user_import))
    text = page_text(response)
    assert response.status_code == 200
    assert 'data-poll-seconds="1"' in text
    assert url("import-progress", org, user_import) in text
    assert "0 of 1 rows applied" in text
    assert "<html" not in text  # a fragment, not a page


@pytest.mark.parametrize(("content", "message"), [
    ("email,name\nzoë@example.test,Zoë\n".encode("latin-1"), "The file is not UTF-8"),
    (b"name\nAda\n", "The first row must be a header"),
    (b"email,nickname\nada@example.test,Ace\n", "Unknown columns: nickname"),
    (b"\x00\x01\x02binary", "This is not a CSV file"),
    (b"", "The submitted file is empty."),
])
def test_bad_files_are_refused_on_the_form(org_admin_client, org, content, message):
    response = org_admin_client.post(url("import-new", org), {"file": csv_file(content)})
    assert response.status_code == 200
    assert message in page_text(response)
    assert not UserImport.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="user_import").exists()


def test_a_50_mb_upload_is_refused_before_it_is_read(org_admin_client, org):
    big = b"email\n" + b"x" * (50 * 1024 * 1024)
    response = org_admin_client.post(url("import-new", org), {"file": csv_file(big)})
    assert response.status_code == 200
    assert "The file is larger than 5 MB" in page_text(response)
    assert not UserImport.objects.exists()


def test_row_errors_show_and_confirm_is_refused(org_admin_client, org, django_capture_on_commit_callbacks):
    org_admin_client.post(url("import-new", org), {"file": csv_file(
        "email,name\nada@example.test,Ada\nada@example.test,Dup\nbob@example.test,@SUM(A1)\n")})
    user_import = UserImport.objects.get()
    text = page_text(org_admin_client.get(url("import-detail", org, user_import)))
    assert "2 rows have errors" in text
    assert "ada@example.test already appears on line 2." in text
    assert "Line 4, column “name” starts with “@”" in text
    assert "Confirm and import" not in text
    with django_capture_on_commit_callbacks(execute=True):
        response = org_admin_client.post(url("import-confirm", org, user_import), follow=True)
    assert "Nothing was imported: 2 rows have errors." in page_text(response)
    assert not User.objects.filter(email="ada@example.test").exists()
    assert UserImport.objects.get().status == Status.PREVIEW


def test_an_admins_file_may_not_make_owners(org_admin_client, org):
    org_admin_client.post(url("import-new", org), {"file": csv_file("email,role\nada@example.test,owner\n")})
    text = page_text(org_admin_client.get(url("import-detail", org, UserImport.objects.get())))
    assert "Only an owner can make someone an owner." in text


def test_cancel(org_admin_client, org, org_admin):
    user_import = make_import(org, org_admin)
    response = org_admin_client.post(url("import-cancel", org, user_import), follow=True)
    assert "Import cancelled; nothing was applied." in page_text(response)
    assert UserImport.objects.get().status == Status.CANCELLED
    assert org_admin_client.get(url("import-cancel", org, user_import)).status_code == 405


def test_results_before_the_end_redirect_with_a_message(org_admin_client, org, org_admin):
    user_import = make_import(org, org_admin)
    response = org_admin_client.get(url("import-results", org, user_import), follow=True)
    assert "The results are ready when the import has finished." in page_text(response)


def _pages(org, user_import):
    gets = [url("import-list", org), url("import-new", org), url("import-template", org),
            url("import-detail", org, user_import), url("import-progress", org, user_import),
            url("import-results", org, user_import)]
    posts = [url("import-new", org), url("import-confirm", org, user_import), url("import-cancel", org, user_import)]
    return gets, posts


def test_owner_and_admin_may_use_every_page(client, sign_in, org, org_owner, org_admin):
    user_import = make_import(org, org_admin)
    for user in (org_owner, org_admin):
        signed_in = sign_in(user)
        gets, _posts = _pages(org, user_import)
        for address in gets:
            assert signed_in.get(address).status_code in (200, 302), address


@pytest.mark.parametrize("role", ["auditor", "member"])
def test_auditors_and_members_get_403(client, sign_in, org, org_admin, role):
    from directory.tests.factories import MembershipFactory

    user = MembershipFactory(org=org, role=role, user=UserFactory(email=f"{role}@acme.test")).user
    user_import = make_import(org, org_admin)
    signed_in = sign_in(user)
    gets, posts = _pages(org, user_import)
    for address in gets:
        assert signed_in.get(address).status_code == 403, address
    for address in posts:
        assert signed_in.post(address, {"file": csv_file("email\nx@example.test\n")}).status_code == 403, address
    assert UserImport.objects.get().status == Status.PREVIEW
    assert UserImport.objects.count() == 1


def test_another_orgs_admin_gets_404_everywhere(other_org_admin_client, org, org_admin):
    user_import = make_import(org, org_admin)
    gets, posts = _pages(org, user_import)
    for address in gets + [url("user-export", org)]:
        assert other_org_admin_client.get(address).status_code == 404, address
    for address in posts:
        assert other_org_admin_client.post(address).status_code == 404, address
    assert UserImport.objects.get().status == Status.PREVIEW


def test_another_orgs_import_is_404_in_my_console(client, sign_in, org, other_org, other_org_admin, org_admin):
    theirs = make_import(other_org, other_org_admin)
    signed_in = sign_in(org_admin)
    for name in ("import-detail", "import-progress", "import-results"):
        address = reverse(f"console:{name}", kwargs={"org_slug": org.slug, "public_id": theirs.public_id})
        assert signed_in.get(address).status_code == 404
    for name in ("import-confirm", "import-cancel"):
        address = reverse(f"console:{name}", kwargs={"org_slug": org.slug, "public_id": theirs.public_id})
        assert signed_in.post(address).status_code == 404
    assert UserImport.objects.get(pk=theirs.pk).status == Status.PREVIEW


def test_list_page_and_its_query_count(org_admin_client, org, org_admin, django_assert_max_num_queries):
    for i in range(30):
        make_import(org, org_admin, f"email\nu{i}@example.test\n")
    with django_assert_max_num_queries(8):
        response = org_admin_client.get(url("import-list", org))
    assert response.status_code == 200
    assert page_text(response).count("users.csv") == 30
