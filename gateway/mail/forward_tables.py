"""What mail clients write when they forward a message inline, per client and language: the data that
gateway.mail.forwards reads. The detection code knows no language; a new client or locale is a line here.

Sources (each entry names its own):
- [TB] Thunderbird's localizations, github.com/thunderbird/thunderbird-l10n:
  ``mail/chrome/messenger/messengercompose/composeMsgs.properties`` (``mailnews.forward_header_originalmessage``,
  the separator) and ``mail/chrome/messenger/mime.properties`` (1000 Subject, 1007 Date, 1009 From, 1010
  Reply-To, 1012 To, 1013 CC, 1021 Message-ID: the header labels under it).
- [EFP] the tables and fixtures of crisp-oss/email-forward-parser (MIT; used on about a million inbound
  mails a day), which record what Apple Mail, Gmail, Outlook Live/365, Outlook 2019, New Outlook 2019,
  Yahoo Mail, HubSpot, IONOS and MailMate write in each locale.
- [CLDR] the Unicode CLDR's month names and day periods (read through Babel 2.19), for printed dates.
- [#20] strings quoted in the project's issue #20 from users' mail (Mail.ru/Yandex ``От кого:``, ``転送メッセージ``).
- Entries without a mark were in the first, eight-language tables, written from the clients' output.

Strings are matched ignoring case (written here as the client writes them where case matters: a Turkish
dotted İ has no one-letter lower case).
"""

from __future__ import annotations

# ------------------------------------------------------------------ separators

# The words between the dashes of a dashed separator (``-------- Forwarded Message --------``), which
# announce a forward: the header block under it is the original's.
DASHED_FORWARD = (
    "forwarded message",                 # en: Gmail (all locales) [EFP], Thunderbird [TB], Yahoo [EFP]
    "weitergeleitete nachricht",         # de: Thunderbird [TB], Yahoo, HubSpot, older Gmail [EFP]
    "messaggio inoltrato",               # it: Thunderbird [TB], Yahoo, HubSpot [EFP]
    "message transféré",                 # fr: Thunderbird [TB], HubSpot [EFP]
    "message transmis",                  # fr: Yahoo [EFP]
    "mensaje reenviado",                 # es: Thunderbird [TB], Yahoo, HubSpot [EFP]
    "mensagem encaminhada",              # pt-BR: Thunderbird [TB], Yahoo, HubSpot [EFP]
    "mensagem reencaminhada",            # pt-PT: Thunderbird [TB], Yahoo [EFP]
    "doorgestuurd bericht",              # nl: Thunderbird [TB], Yahoo, HubSpot [EFP]
    "přeposlaná zpráva",                 # cs: Thunderbird [TB], Yahoo [EFP]
    "videresendt meddelelse",            # da: Thunderbird [TB], Yahoo [EFP]
    "edastatud kiri",                    # et: Thunderbird [TB]
    "välitetty viesti / fwd.msg",        # fi: Thunderbird [TB]
    "välitetty viesti",                  # fi: [#20]
    "edelleenlähetetty viesti",          # fi: Yahoo, HubSpot [EFP]
    "proslijeđena poruka",               # hr: Thunderbird [TB]
    "továbbított üzenet",                # hu: Thunderbird [TB], Yahoo [EFP]
    "videresendt melding",               # nb: Thunderbird [TB], Yahoo [EFP]
    "vidaresend melding",                # nn: Thunderbird [TB]
    "treść przekazanej wiadomości",      # pl: Thunderbird [TB]
    "przekazana wiadomość",              # pl: Yahoo [EFP]
    "wiadomość przesłana dalej",         # pl: HubSpot [EFP]
    "mesaj redirecționat",               # ro: Thunderbird [TB], Yahoo [EFP]
    "перенаправленное сообщение",        # ru: Thunderbird [TB]
    "пересылаемое сообщение",            # ru: Yahoo [EFP]
    "preposlaná správa --- forwarded message",  # sk: Thunderbird [TB]
    "preposlaná správa",                 # sk: Yahoo [EFP]
    "vidarebefordrat meddelande",        # sv: Thunderbird [TB], Yahoo, HubSpot [EFP]
    "İletilen İleti",                    # tr: Thunderbird [TB]
    "İletilmiş Mesaj",                   # tr: Yahoo [EFP]
    "переслане повідомлення",            # uk: Thunderbird [TB]
    "перенаправлене повідомлення",       # uk: Yahoo [EFP]
    "προωθημένο μήνυμα",                 # el: Thunderbird [TB]
    "전달된 메시지",                       # ko: Thunderbird [TB]
    "转发的消息",                          # zh-CN: Thunderbird [TB]
    "轉寄郵件",                            # zh-TW: Thunderbird [TB]
    "رسالة ممرّرة",                        # ar: Thunderbird [TB]
    "メッセージを転送",                     # ja: HubSpot [EFP] (Thunderbird ja writes the English one [TB])
    "転送メッセージ",                       # ja: [#20]
)

# A dashed separator that also heads the original of a reply (Outlook, IONOS): a forward only when the
# message is not a reply.
DASHED_ORIGINAL = (
    "original message",                  # en: Outlook, IONOS [EFP]; Thunderbird 1041 [TB]
    "ursprüngliche nachricht",           # de: Outlook
    "messaggio originale",               # it: Outlook
    "message d'origine",                 # fr: Outlook
    "mensaje original",                  # es: Outlook
    "mensagem original",                 # pt: Outlook
    "oorspronkelijk bericht",            # nl: Outlook
)

# A line that introduces a forward on its own, usually with a colon (Apple Mail, MailMate).
INTRO_FORWARD = (
    "begin forwarded message",           # en: Apple Mail [EFP]
    "forwarded message",                 # en: MailMate [EFP]
    "anfang der weitergeleiteten nachricht",   # de: Apple Mail [EFP]
    "inizio messaggio inoltrato",        # it: Apple Mail [EFP]
    "début du message réexpédié",        # fr: Apple Mail [EFP]
    "début du message transféré",        # fr: Apple Mail iOS [EFP]
    "inicio del mensaje reenviado",      # es: Apple Mail [EFP]
    "begin doorgestuurd bericht",        # nl: Apple Mail [EFP]
    "início da mensagem reencaminhada",  # pt: Apple Mail [EFP]
    "início da mensagem encaminhada",    # pt-BR: Apple Mail [EFP]
    "mensagem encaminhada",              # pt-BR: Apple Mail iOS
    "začátek přeposílané zprávy",        # cs: Apple Mail [EFP]
    "start på videresendt besked",       # da: Apple Mail [EFP]
    "välitetty viesti alkaa",            # fi: Apple Mail [EFP]
    "započni proslijeđenu poruku",       # hr: Apple Mail [EFP]
    "továbbított levél kezdete",         # hu: Apple Mail [EFP]
    "videresendt melding",               # nb: Apple Mail [EFP]
    "początek przekazywanej wiadomości",  # pl: Apple Mail [EFP]
    "începe mesajul redirecționat",      # ro: Apple Mail [EFP]
    "начало переадресованного сообщения",  # ru: Apple Mail [EFP]
    "začiatok preposlanej správy",       # sk: Apple Mail [EFP]
    "vidarebefordrat mejl",              # sv: Apple Mail [EFP]
    "İleti başlangıcı",                  # tr: Apple Mail [EFP]
    "початок листа, що пересилається",   # uk: Apple Mail [EFP]
)

# ------------------------------------------------------------------ header labels

# The labels of a forward's header block, by the field they name. Outlook and Yahoo say "Sent" for the
# date (SENT below); every label is matched lower-cased, with any run of spaces as one.
LABELS: dict[str, tuple[str, ...]] = {
    "from": (
        "from",          # en, ja: all clients [EFP][TB]
        "von",           # de [EFP][TB]
        "da",            # it: Apple Mail, Gmail, Outlook [EFP]
        "mittente",      # it: Thunderbird [TB]
        "de",            # es, fr, pt: Apple Mail, Gmail, Outlook [EFP], Thunderbird [TB]
        "expéditeur",    # fr: older Outlook
        "remitente",     # es: older Outlook
        "remetente",     # pt: older Outlook
        "van",           # nl [EFP][TB]
        "od",            # cs, pl, sk: Apple Mail, Gmail, Outlook [EFP], Thunderbird cs/sk [TB]
        "fra",           # da, nb [EFP][TB]
        "saatja",        # et: Gmail [EFP], Thunderbird [TB]
        "lähettäjä",     # fi [EFP][TB]
        "šalje",         # hr [EFP][TB]
        "feladó",        # hu [EFP][TB]
        "nadawca",       # pl: Thunderbird [TB]
        "de la",         # ro: Gmail, Yahoo [EFP], Thunderbird [TB]
        "expeditorul",   # ro: Apple Mail [EFP]
        "от",            # ru: Gmail, Outlook, Yahoo [EFP], Thunderbird [TB]
        "отправитель",   # ru: Apple Mail [EFP]
        "от кого",       # ru: Mail.ru, Yandex [#20]
        "från",          # sv [EFP][TB]
        "kimden",        # tr: Apple Mail, Yahoo [EFP], Thunderbird [TB]
        "gönderen",      # tr: Gmail [EFP]
        "від",           # uk: Gmail, Yahoo [EFP], Thunderbird [TB]
        "від кого",      # uk: Apple Mail [EFP]
        "από",           # el: Thunderbird [TB]
        "보낸 사람",       # ko: Thunderbird [TB]
        "发件人",          # zh-CN: Thunderbird [TB]
        "從",             # zh-TW: Thunderbird [TB]
        "مِن",            # ar: Thunderbird [TB]
        "من",             # ar: the same without its vowel mark
        "送信元",          # ja: HubSpot [EFP]
    ),
    "to": (
        "to", "an", "a", "à", "para", "aan", "pour", "destinatario", "destinataire",   # en de it fr es/pt nl [EFP][TB]
        "komu",          # cs, sk [EFP][TB]
        "til",           # da, nb [EFP][TB]
        "saaja",         # et: Thunderbird [TB]
        "vastaanottaja",  # fi [EFP][TB]
        "prima",         # hr [EFP][TB]
        "címzett",       # hu [EFP][TB]
        "do", "adresat",  # pl: Outlook, Apple Mail [EFP]; Thunderbird [TB]
        "către", "destinatarul",  # ro: Yahoo [EFP], Thunderbird [TB]; Apple Mail [EFP]
        "кому",          # ru, uk [EFP][TB]
        "pre",           # sk: Apple Mail [EFP], Thunderbird [TB]
        "till",          # sv [EFP][TB]
        "kime",          # tr [EFP][TB]
        "προς",          # el [TB]
        "받는 사람",       # ko [TB]
        "收件人",          # zh-CN [TB]
        "到",             # zh-TW [TB]
        "إلى",            # ar [TB]
        "送信先",          # ja: HubSpot [EFP]
    ),
    "cc": (
        "cc", "kopie", "kopie (cc)", "copia", "cópia", "copie", "copie à",   # en de it pt fr [EFP][TB]
        "kopi", "kopi til (cc)",   # nb: Apple Mail [EFP]; da: Thunderbird [TB]
        "koopia",        # et [TB]
        "kopio",         # fi [EFP]
        "másolat", "másolatot kap",   # hu: Apple Mail, New Outlook [EFP]
        "dw", "kopia",   # pl: Outlook, Apple Mail [EFP]; pl, sv [EFP][TB]
        "копия",         # ru [EFP][TB]
        "kópia",         # sk [EFP][TB]
        "bilgi",         # tr: Apple Mail [EFP]
        "копія",         # uk: Apple Mail [EFP]
        "κοιν.",         # el [TB]
        "참조",           # ko [TB]
        "抄送",           # zh-CN [TB]
        "副本",           # zh-TW [TB]
    ),
    "date": (
        "date", "datum", "data", "fecha",   # en fr, de cs hr nl sv, it pl pt, es [EFP][TB]
        "dato",          # da, nb [EFP][TB]
        "kuupäev",       # et [TB]
        "päivämäärä", "päiväys",   # fi: Apple Mail, Outlook [EFP]; Thunderbird [TB]
        "dátum",         # hu, sk [EFP][TB]
        "dată",          # ro [EFP][TB]
        "дата",          # ru, uk [EFP][TB]
        "tarih",         # tr [EFP][TB]
        "ημερομηνία",    # el [TB]
        "날짜",           # ko [TB]
        "日期",           # zh-CN, zh-TW [TB]
        "التاريخ",        # ar [TB]
        "日付",           # ja: HubSpot [EFP]
    ),
    "subject": (
        "subject", "betreff", "oggetto", "objet", "sujet", "asunto", "assunto", "onderwerp",  # [EFP][TB]
        "předmět",       # cs [EFP][TB]
        "emne",          # da, nb [EFP][TB]
        "teema",         # et [TB]
        "aihe",          # fi [EFP][TB]
        "naslov",        # hr: Thunderbird [TB]
        "predmet",       # hr: Apple Mail; sk [EFP][TB]
        "tárgy",         # hu [EFP][TB]
        "temat",         # pl [EFP][TB]
        "subiect", "subiectul",   # ro: Yahoo, Thunderbird [EFP][TB]; Apple Mail [EFP]
        "тема",          # ru, uk [EFP][TB]
        "ämne",          # sv [EFP][TB]
        "konu",          # tr [EFP][TB]
        "θέμα",          # el [TB]
        "제목",           # ko [TB]
        "主题",           # zh-CN [TB]
        "主旨",           # zh-TW [TB]
        "الموضوع",        # ar [TB]
        "件名",           # ja: HubSpot [EFP]
    ),
    # read so that Apple Mail's and Thunderbird's Reply-To line does not end the block
    "reply_to": (
        "reply-to", "antwort an", "rispondi a", "rispondi-a", "répondre à", "responder a", "antwoord aan",
        "antwoord-naar", "responder-para", "svar til", "svar-til", "svara till", "svar till", "odgovori na",
        "odpověď na", "adresa pro odpověď", "vastaus", "vastausosoite", "válaszcím", "odpowiedź-do",
        "răspuns către", "ответ-кому", "отвечать", "odpovedať-pre", "odpovedať na", "yanıt adresi",
        "кому відповісти", "відповісти", "vastamise aadress", "απάντηση", "회신 주소", "回复地址", "回函地址",
        "رُد إلى",       # Apple Mail [EFP], Thunderbird 1010 [TB]
    ),
    # Thunderbird writes it when the forward shows all headers (mime.properties 1021 [TB])
    "message_id": (
        "message-id", "id zprávy", "nyheds-id", "nachricht-id", "id-μηνύματος", "kirja id", "viestin tunnus",
        "id du message", "id poruke", "üzenetazonosító", "id-messaggio", "メッセージ id", "메시지 id",
        "meldingsid", "bericht-id", "identyfikator wiadomości", "identificador de mensagem", "id-mensagem",
        "id mesaj", "идентификатор", "identifikátor správy", "meddelande-id", "İleti-Kimliği", "ідентифікатор",
        "消息标识", "郵件編號", "هوية الرسالة",
    ),
}

# Outlook's and Yahoo's "Sent" for the date: a block with one of these is Outlook's (or Yahoo's).
SENT = (
    "sent",          # en: Outlook, Yahoo [EFP]
    "gesendet", "inviato", "envoyé", "enviado", "enviado el", "enviada", "verzonden",  # de it fr es pt nl [EFP]
    "sendt",         # da, nb: Yahoo [EFP]
    "lähetetty",     # fi: Yahoo [EFP]
    "elküldve",      # hu: Yahoo [EFP]
    "wysłano",       # pl: Yahoo [EFP]
    "trimis",        # ro: Yahoo [EFP]
    "отправлено",    # ru: Yahoo [EFP]
    "odoslané",      # sk: Yahoo [EFP]
    "skickat",       # sv: Yahoo [EFP]
    "gönderilen",    # tr: Yahoo [EFP]
    "відправлено",   # uk: Yahoo [EFP]
)

# ------------------------------------------------------------------ subjects

# Subject prefixes that mark a forward: Outlook 2019 forwards with a reply-style first line (below) count
# only under one of these. ``VS`` is left out: Danish Outlook's forward, but Finnish Outlook's reply.
FORWARD_PREFIXES = (
    "fw", "fwd",     # Outlook (most locales), Gmail, Thunderbird, Yahoo (all locales) [EFP]
    "wg",            # de: Outlook [EFP]
    "rv",            # es: Outlook [EFP]
    "tr",            # fr: Outlook [EFP]
    "i",             # it: Outlook [EFP]
    "pd",            # pl: Outlook [EFP]
    "enc",           # pt-BR: Outlook [EFP]
    "redir.",        # ro: Outlook [EFP]
    "vb",            # sv: Outlook [EFP]
    "vl",            # fi: New Outlook [EFP]
    "videresend",    # nb: New Outlook [EFP]
    "İLT",          # tr: New Outlook [EFP]
)

# Subject prefixes that mark a reply: an Outlook-style block (which Outlook writes for replies too) is
# then the replied-to message, not a forwarded one. Thunderbird's ``mailnews.localizedRe`` per locale [TB]
# (messenger-region/region.properties), and Outlook's "RIF" (it), "RES" (pt-BR), "Antwort" (de). ``VS``
# (a reply in Finnish and Estonian [TB], a forward in Danish Outlook [EFP]) is in neither list.
REPLY_PREFIXES = (
    "re", "aw", "sv", "r", "rif", "res", "antw", "antwort",
    "odp", "odp.",   # pl [TB]
    "vá",            # hu [TB]
    "ynt", "yan",    # tr [TB]
    "odg", "одг",    # sl, sr [TB]
    "回复",           # zh-CN [TB]
)

# Prefixes a title drops as well, though they decide nothing about a message: ``VS`` (see above) and
# Dutch Outlook's "Doorst" (doorgestuurd, forwarded).
TITLE_ONLY_PREFIXES = ("vs", "doorst")

# ------------------------------------------------------------------ Outlook 2019's reply-style first line

# Outlook 2019 (Mac) starts a forward with the line it writes above a reply, per language [EFP]; under a
# forward subject it names the original's sender (its date is printed day/month or month/day, as the
# system is set, so it is not read). Each pattern holds the named groups ``name`` and ``address``; ``{N}``
# stands for a bounded run of any characters.
REPLY_STYLE_INTROS = (
    r'On {N}, "(?P<name>{N})" [<\[](?P<address>{N})[>\]] wrote ?:',            # en [EFP]
    r'Am {N} schrieb "(?P<name>{N})" [<\[](?P<address>{N})[>\]] ?:',           # de [EFP]
    r'Dne {N}, (?P<name>{N}) [<\[](?P<address>{N})[>\]] napsal\(a\) ?:',       # cs [EFP]
    r'D\. {N} skrev "(?P<name>{N})" [<\[](?P<address>{N})[>\]] ?:',            # da [EFP]
    r'El {N}, "(?P<name>{N})" [<\[](?P<address>{N})[>\]] escribió ?:',         # es [EFP]
    r'Le {N}, « ?(?P<name>{N}) ?» [<\[](?P<address>{N})[>\]] a écrit ?:',      # fr [EFP]
    r'(?P<name>{N}) [<\[](?P<address>{N})[>\]] kirjoitti {N} ?:',              # fi [EFP]
    r'{N} időpontban (?P<name>{N}) [<\[(](?P<address>{N})[>\])] ezt írta ?:',  # hu [EFP]
    r'Il giorno {N} "(?P<name>{N})" [<\[](?P<address>{N})[>\]] ha scritto ?:',  # it [EFP]
    r'Op {N} heeft (?P<name>{N}) [<\[](?P<address>{N})[>\]] geschreven ?:',    # nl [EFP]
    r'(?P<name>{N}) [<\[](?P<address>{N})[>\]] skrev følgende den {N} ?:',     # nb [EFP]
    r'Dnia {N} „(?P<name>{N})” [<\[](?P<address>{N})[>\]] napisał ?:',         # pl [EFP]
    r'Em {N}, "(?P<name>{N})" [<\[](?P<address>{N})[>\]] escreveu ?:',         # pt [EFP]
    r'{N} пользователь "(?P<name>{N})" [<\[](?P<address>{N})[>\]] написал ?:',  # ru [EFP]
    r'{N} používateľ (?P<name>{N}) \([<\[](?P<address>{N})[>\]]\) napísal ?:',  # sk [EFP]
    r'Den {N} skrev "(?P<name>{N})" [<\[](?P<address>{N})[>\]] följande ?:',   # sv [EFP]
    r'"(?P<name>{N})" [<\[](?P<address>{N})[>\]], {N} tarihinde şunu yazdı ?:',  # tr [EFP]
)

# ------------------------------------------------------------------ month names in printed dates

# Month names per language, January to December, as the clients print dates. The first eight as they
# stood (written from the clients' output); the rest from CLDR (through Babel 2.19: format and
# stand-alone forms, wide and abbreviated, lower-cased, without the abbreviation's dot), plus older
# abbreviations that Gmail still prints (fi "lokak.", from [EFP]'s Gmail fixture and older CLDR).
# A word that names different months in two languages (Croatian "listopad" is October, Czech and Polish
# November) is left out by gateway.mail.forwards: such a date stays unread rather than wrong.
MONTH_NAMES: dict[str, tuple[str, ...]] = {
    "old": (
        "jan january januar gennaio gen janvier janv enero ene janeiro januari",
        "feb february februar febbraio février févr fevr febrero fevereiro fev februari",
        "mar march märz mär marzo mars março maart mrt",
        "apr april aprile avril avr abril abr",
        "may mai maggio mag mayo maio mei",
        "jun june juni giugno giu juin junio junho",
        "jul july juli luglio lug juillet juil julio julho",
        "aug august agosto ago août aout augustus",
        "sep sept september settembre set septembre septiembre setiembre setembro",
        "oct october oktober okt ottobre ott octobre octubre outubro out",
        "nov november novembre noviembre novembro",
        "dec december dezember dez dicembre dic décembre decembre diciembre dezembro",
    ),
    "cs": ("led leden ledna", "úno únor února", "bře březen března", "dub duben dubna", "kvě květen května", "červen června čvn", "července červenec čvc", "srp srpen srpna", "zář září", "říj říjen října", "lis listopad listopadu", "pro prosince prosinec"),
    "da": ("jan januar", "feb februar", "mar marts", "apr april", "maj", "jun juni", "jul juli", "aug august", "sep september", "okt oktober", "nov november", "dec december"),
    "et": ("jaan jaanuar", "veebr veebruar", "märts", "apr aprill", "mai", "juuni", "juuli", "aug august", "sept september", "okt oktoober", "nov november", "dets detsember"),
    "fi": ("tammi tammikuu tammikuuta", "helmi helmikuu helmikuuta", "maalis maaliskuu maaliskuuta", "huhti huhtikuu huhtikuuta", "touko toukokuu toukokuuta", "kesä kesäkuu kesäkuuta", "heinä heinäkuu heinäkuuta", "elo elokuu elokuuta", "syys syyskuu syyskuuta", "loka lokakuu lokakuuta", "marras marraskuu marraskuuta", "joulu joulukuu joulukuuta"),
    "hr": ("sij siječanj siječnja", "velj veljača veljače", "ožu ožujak ožujka", "tra travanj travnja", "svi svibanj svibnja", "lip lipanj lipnja", "srp srpanj srpnja", "kol kolovoz kolovoza", "ruj rujan rujna", "lis listopad listopada", "stu studeni studenoga", "pro prosinac prosinca"),
    "hu": ("jan január", "febr február", "márc március", "ápr április", "máj május", "jún június", "júl július", "aug augusztus", "szept szeptember", "okt október", "nov november", "dec december"),
    "nb": ("jan januar", "feb februar", "mar mars", "apr april", "mai", "jun juni", "jul juli", "aug august", "sep september", "okt oktober", "nov november", "des desember"),
    "nn": ("jan januar", "feb februar", "mar mars", "apr april", "mai", "jun juni", "jul juli", "aug august", "sep september", "okt oktober", "nov november", "des desember"),
    "pl": ("sty styczeń stycznia", "lut lutego luty", "mar marca marzec", "kwi kwiecień kwietnia", "maj maja", "cze czerwca czerwiec", "lip lipca lipiec", "sie sierpień sierpnia", "wrz wrzesień września", "paź październik października", "lis listopad listopada", "gru grudnia grudzień"),
    "ro": ("ian ianuarie", "feb februarie", "mar martie", "apr aprilie", "mai", "iun iunie", "iul iulie", "aug august", "sept septembrie", "oct octombrie", "noiembrie nov", "dec decembrie"),
    "ru": ("янв январь января", "февр февраль февраля", "мар март марта", "апр апрель апреля", "май мая", "июн июнь июня", "июл июль июля", "авг август августа", "сент сентябрь сентября", "окт октябрь октября", "нояб ноябрь ноября", "дек декабрь декабря"),
    "sk": ("jan január januára", "feb február februára", "mar marca marec", "apr apríl apríla", "máj mája", "jún júna", "júl júla", "aug august augusta", "sep september septembra", "okt október októbra", "nov november novembra", "dec december decembra"),
    "sv": ("jan januari", "feb februari", "mars", "apr april", "maj", "juni", "juli", "aug augusti", "sep september", "okt oktober", "nov november", "dec december"),
    "tr": ("oca ocak", "şub şubat", "mar mart", "nis nisan", "may mayıs", "haz haziran", "tem temmuz", "ağu ağustos", "eyl eylül", "eki ekim", "kas kasım", "ara aralık"),
    "uk": ("січ січень січня", "лют лютий лютого", "бер березень березня", "квіт квітень квітня", "трав травень травня", "черв червень червня", "лип липень липня", "серп серпень серпня", "вер вересень вересня", "жовт жовтень жовтня", "лист листопад листопада", "груд грудень грудня"),
    "el": ("ιαν ιανουάριος ιανουαρίου", "φεβ φεβρουάριος φεβρουαρίου", "μάρ μάρτιος μαρ μαρτίου", "απρ απρίλιος απριλίου", "μάι μάιος μαΐ μαΐου", "ιουν ιουνίου ιούν ιούνιος", "ιουλ ιουλίου ιούλ ιούλιος", "αυγ αυγούστου αύγ αύγουστος", "σεπ σεπτέμβριος σεπτεμβρίου", "οκτ οκτωβρίου οκτώβριος", "νοέ νοέμβριος νοε νοεμβρίου", "δεκ δεκέμβριος δεκεμβρίου"),
    "fi-gmail": ("tammik", "helmik", "maalisk", "huhtik", "toukok", "kesäk", "heinäk", "elok", "syysk", "lokak",
                 "marrask", "jouluk"),
}
