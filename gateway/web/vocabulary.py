"""The words the web app shows that are data elsewhere: record nouns and plurals, statuses, roles, field
names, kinds of notification. They stay English in the database, the API and the CLI; this list puts them
in the catalogs, and templates translate them where they are shown with ``word(value)``, which is escaped
like any value (``_()``'s result is trusted as markup). A test checks that every such word of
gateway.crm.kinds and gateway.services.record_pages is here.
"""

from __future__ import annotations

from gateway.locale import N_

WORDS = (
    # record nouns (gateway.crm.kinds.NOUNS) and plurals (gateway.services.record_pages.PLURALS)
    N_("lead"), N_("contact"), N_("organization"), N_("deal"), N_("project"), N_("invoice"), N_("quote"),
    N_("smart process"),
    N_("Leads"), N_("Contacts"), N_("Organizations"), N_("Deals"), N_("Projects"), N_("Invoices"), N_("Quotes"),
    N_("Smart processes"), N_("People"),
    # headings of linked records on a record's page
    N_("Contact"), N_("Organization"), N_("Converted into deal"), N_("Converted from lead"),
    # field names on a record's page
    N_("Name"), N_("Address"), N_("Domain"), N_("Title"), N_("Pipeline"), N_("Company (as typed)"), N_("Closed"),
    N_("Phone"), N_("Value"), N_("Currency"),
    # statuses of records and tasks (gateway.crm.kinds.Status), of a user
    N_("open"), N_("converted"), N_("won"), N_("lost"), N_("done"), N_("cancelled"), N_("planned"), N_("completed"),
    N_("active"), N_("inactive"),
    # roles, sharing, directions of mail
    N_("admin"), N_("member"), N_("private"), N_("shared"), N_("incoming"), N_("outgoing"),
    # CRM modes and what classic mode creates
    N_("simple"), N_("classic"),
    # kinds of notification (gateway.crm.kinds.NotificationKind)
    N_("review"), N_("bounce"), N_("mention"), N_("overdue"), N_("task"), N_("mailbox"),
)
