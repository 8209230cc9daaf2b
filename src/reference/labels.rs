//! Labels of every closed list the API uses, in Polish, English, Ukrainian and Russian.

/// One enumeration: its name in the API and the labels of its codes.
pub struct Enumeration {
    pub name: &'static str,
    pub values: &'static [Label],
}

/// A code and its labels.
pub struct Label {
    pub code: &'static str,
    pub pl: &'static str,
    pub en: &'static str,
    pub uk: &'static str,
    pub ru: &'static str,
}

pub const ENUMERATIONS: &[Enumeration] = &[
    Enumeration {
        name: "role",
        values: &[
            Label {
                code: "consortium_admin",
                pl: "Administrator konsorcjum",
                en: "Consortium administrator",
                uk: "Адміністратор консорціуму",
                ru: "Администратор консорциума",
            },
            Label {
                code: "coordinator",
                pl: "Koordynator organizacji",
                en: "Organisation coordinator",
                uk: "Координатор організації",
                ru: "Координатор организации",
            },
            Label {
                code: "counselor", pl: "Doradca", en: "Counsellor", uk: "Консультант", ru: "Консультант"
            },
            Label { code: "analyst", pl: "Analityk", en: "Analyst", uk: "Аналітик", ru: "Аналитик" },
        ],
    },
    Enumeration {
        name: "session_kind",
        values: &[
            Label {
                code: "psychological",
                pl: "Wsparcie psychologiczne",
                en: "Psychological support",
                uk: "Психологічна підтримка",
                ru: "Психологическая поддержка",
            },
            Label {
                code: "vocational",
                pl: "Doradztwo zawodowe",
                en: "Career counselling",
                uk: "Професійне консультування",
                ru: "Профессиональное консультирование",
            },
            Label {
                code: "legal",
                pl: "Pomoc prawna",
                en: "Legal assistance",
                uk: "Правова допомога",
                ru: "Юридическая помощь",
            },
            Label {
                code: "social",
                pl: "Wsparcie socjalne",
                en: "Social support",
                uk: "Соціальна підтримка",
                ru: "Социальная поддержка",
            },
            Label {
                code: "integration",
                pl: "Wsparcie integracyjne",
                en: "Integration support",
                uk: "Інтеграційна підтримка",
                ru: "Интеграционная поддержка",
            },
            Label {
                code: "medical_referral",
                pl: "Skierowanie do lekarza",
                en: "Medical referral",
                uk: "Направлення до лікаря",
                ru: "Направление к врачу",
            },
            Label { code: "other", pl: "Inne", en: "Other", uk: "Інше", ru: "Другое" },
        ],
    },
    Enumeration {
        name: "session_mode",
        values: &[
            Label {
                code: "in_person",
                pl: "Spotkanie osobiste",
                en: "In person",
                uk: "Особиста зустріч",
                ru: "Личная встреча",
            },
            Label {
                code: "phone",
                pl: "Rozmowa telefoniczna",
                en: "Phone call",
                uk: "Телефонна розмова",
                ru: "Телефонный разговор",
            },
            Label {
                code: "video", pl: "Wideorozmowa", en: "Video call", uk: "Відеодзвінок", ru: "Видеозвонок"
            },
        ],
    },
    Enumeration {
        name: "sex",
        values: &[
            Label { code: "female", pl: "Kobieta", en: "Female", uk: "Жіноча", ru: "Женский" },
            Label { code: "male", pl: "Mężczyzna", en: "Male", uk: "Чоловіча", ru: "Мужской" },
            Label { code: "other", pl: "Inna", en: "Other", uk: "Інша", ru: "Другой" },
            Label {
                code: "unknown", pl: "Nieznana", en: "Unknown", uk: "Невідома", ru: "Неизвестен"
            },
        ],
    },
    Enumeration {
        name: "accommodation",
        values: &[
            Label {
                code: "reception_centre",
                pl: "Ośrodek dla cudzoziemców",
                en: "Reception centre",
                uk: "Центр для іноземців",
                ru: "Центр для иностранцев",
            },
            Label {
                code: "residential_centre",
                pl: "Placówka zakwaterowania zbiorowego",
                en: "Residential centre",
                uk: "Заклад колективного проживання",
                ru: "Учреждение коллективного проживания",
            },
            Label {
                code: "private",
                pl: "Zakwaterowanie prywatne",
                en: "Private accommodation",
                uk: "Приватне житло",
                ru: "Частное жильё",
            },
            Label {
                code: "detention",
                pl: "Strzeżony ośrodek dla cudzoziemców",
                en: "Guarded centre for foreigners",
                uk: "Охоронюваний центр для іноземців",
                ru: "Охраняемый центр для иностранцев",
            },
            Label {
                code: "homeless", pl: "W kryzysie bezdomności", en: "Homeless", uk: "Без житла", ru: "Без жилья"
            },
            Label {
                code: "unknown", pl: "Nieznane", en: "Unknown", uk: "Невідомо", ru: "Неизвестно"
            },
        ],
    },
    Enumeration {
        name: "vulnerability",
        values: &[
            Label {
                code: "minor",
                pl: "Osoba małoletnia",
                en: "Minor",
                uk: "Неповнолітня особа",
                ru: "Несовершеннолетний",
            },
            Label {
                code: "unaccompanied_minor",
                pl: "Małoletni bez opieki",
                en: "Unaccompanied minor",
                uk: "Неповнолітня особа без супроводу",
                ru: "Несовершеннолетний без сопровождения",
            },
            Label {
                code: "disability",
                pl: "Niepełnosprawność",
                en: "Disability",
                uk: "Інвалідність",
                ru: "Инвалидность",
            },
            Label {
                code: "elderly",
                pl: "Osoba starsza",
                en: "Older person",
                uk: "Літня особа",
                ru: "Пожилой человек",
            },
            Label {
                code: "pregnant",
                pl: "Kobieta w ciąży",
                en: "Pregnant woman",
                uk: "Вагітна жінка",
                ru: "Беременная женщина",
            },
            Label {
                code: "single_parent",
                pl: "Samotny rodzic",
                en: "Single parent",
                uk: "Одинокий батько чи мати",
                ru: "Одинокий родитель",
            },
            Label {
                code: "trafficking_victim",
                pl: "Ofiara handlu ludźmi",
                en: "Victim of trafficking",
                uk: "Жертва торгівлі людьми",
                ru: "Жертва торговли людьми",
            },
            Label {
                code: "serious_illness",
                pl: "Poważna choroba",
                en: "Serious illness",
                uk: "Тяжка хвороба",
                ru: "Тяжёлое заболевание",
            },
            Label {
                code: "mental_disorder",
                pl: "Zaburzenia psychiczne",
                en: "Mental disorder",
                uk: "Психічний розлад",
                ru: "Психическое расстройство",
            },
            Label {
                code: "torture_victim",
                pl: "Ofiara tortur",
                en: "Victim of torture",
                uk: "Жертва катувань",
                ru: "Жертва пыток",
            },
            Label {
                code: "violence_victim",
                pl: "Ofiara przemocy",
                en: "Victim of violence",
                uk: "Жертва насильства",
                ru: "Жертва насилия",
            },
            Label {
                code: "gender_based_violence",
                pl: "Ofiara przemocy ze względu na płeć",
                en: "Victim of gender-based violence",
                uk: "Жертва гендерно зумовленого насильства",
                ru: "Жертва гендерного насилия",
            },
            Label {
                code: "lgbti", pl: "Osoba LGBTI", en: "LGBTI person", uk: "ЛГБТІ-особа", ru: "ЛГБТИ-персона"
            },
            Label {
                code: "ptsd",
                pl: "Zespół stresu pourazowego (PTSD)",
                en: "Post-traumatic stress disorder (PTSD)",
                uk: "Посттравматичний стресовий розлад (ПТСР)",
                ru: "Посттравматическое стрессовое расстройство (ПТСР)",
            },
            Label {
                code: "fgm",
                pl: "Okaleczenie żeńskich narządów płciowych (FGM)",
                en: "Female genital mutilation (FGM)",
                uk: "Калічення жіночих статевих органів",
                ru: "Калечащие операции на женских половых органах (КОЖПО)",
            },
        ],
    },
    Enumeration {
        name: "identifier_kind",
        values: &[
            Label {
                code: "udsc_case_number",
                pl: "Numer sprawy w UdSC",
                en: "UdSC case number",
                uk: "Номер справи в UdSC",
                ru: "Номер дела в UdSC",
            },
            Label {
                code: "tztc",
                pl: "TZTC — Tymczasowe Zaświadczenie Tożsamości Cudzoziemca",
                en: "TZTC — Temporary Foreigner's Identity Certificate",
                uk: "TZTC — тимчасове посвідчення особи іноземця",
                ru: "TZTC — временное удостоверение личности иностранца",
            },
            Label { code: "passport", pl: "Paszport", en: "Passport", uk: "Паспорт", ru: "Паспорт" },
            Label {
                code: "pesel", pl: "Numer PESEL", en: "PESEL number", uk: "Номер PESEL", ru: "Номер PESEL"
            },
            Label {
                code: "residence_card",
                pl: "Karta pobytu",
                en: "Residence card",
                uk: "Посвідка на проживання (karta pobytu)",
                ru: "Вид на жительство (karta pobytu)",
            },
        ],
    },
    Enumeration {
        name: "client_status",
        values: &[
            Label { code: "active", pl: "Aktywny", en: "Active", uk: "Активний", ru: "Активный" },
            Label { code: "closed", pl: "Zamknięty", en: "Closed", uk: "Закритий", ru: "Закрытый" },
            Label {
                code: "erased", pl: "Zanonimizowany", en: "Erased", uk: "Знеособлений", ru: "Обезличен"
            },
            Label { code: "merged", pl: "Scalony", en: "Merged", uk: "Об'єднаний", ru: "Объединён" },
        ],
    },
    Enumeration {
        name: "household_relationship",
        values: &[
            Label {
                code: "head",
                pl: "Głowa gospodarstwa domowego",
                en: "Head of household",
                uk: "Голова домогосподарства",
                ru: "Глава домохозяйства",
            },
            Label {
                code: "spouse",
                pl: "Małżonek / małżonka",
                en: "Spouse",
                uk: "Чоловік / дружина",
                ru: "Супруг / супруга",
            },
            Label {
                code: "partner",
                pl: "Partner / partnerka",
                en: "Partner",
                uk: "Партнер / партнерка",
                ru: "Партнёр / партнёрша",
            },
            Label { code: "child", pl: "Dziecko", en: "Child", uk: "Дитина", ru: "Ребёнок" },
            Label { code: "parent", pl: "Rodzic", en: "Parent", uk: "Батько / мати", ru: "Родитель" },
            Label {
                code: "sibling", pl: "Brat / siostra", en: "Sibling", uk: "Брат / сестра", ru: "Брат / сестра"
            },
            Label {
                code: "grandparent",
                pl: "Dziadek / babcia",
                en: "Grandparent",
                uk: "Дідусь / бабуся",
                ru: "Дедушка / бабушка",
            },
            Label {
                code: "grandchild",
                pl: "Wnuk / wnuczka",
                en: "Grandchild",
                uk: "Онук / онука",
                ru: "Внук / внучка",
            },
            Label {
                code: "other_relative",
                pl: "Inny krewny",
                en: "Other relative",
                uk: "Інший родич",
                ru: "Другой родственник",
            },
            Label { code: "other", pl: "Inna relacja", en: "Other", uk: "Інше", ru: "Другое" },
        ],
    },
    Enumeration {
        name: "procedure_event_kind",
        values: &[
            Label {
                code: "declaration_registered",
                pl: "Rejestracja zamiaru złożenia wniosku",
                en: "Intention to apply registered",
                uk: "Реєстрація наміру подати заяву",
                ru: "Регистрация намерения подать заявление",
            },
            Label {
                code: "application_lodged",
                pl: "Złożenie wniosku",
                en: "Application lodged",
                uk: "Подання заяви",
                ru: "Подача заявления",
            },
            Label {
                code: "tztc_issued", pl: "Wydanie TZTC", en: "TZTC issued", uk: "Видача TZTC", ru: "Выдача TZTC"
            },
            Label {
                code: "dublin_procedure_started",
                pl: "Wszczęcie procedury dublińskiej",
                en: "Dublin procedure started",
                uk: "Початок дублінської процедури",
                ru: "Начало дублинской процедуры",
            },
            Label {
                code: "dublin_transfer_decision",
                pl: "Decyzja o przekazaniu (procedura dublińska)",
                en: "Dublin transfer decision",
                uk: "Рішення про дублінську передачу",
                ru: "Решение о дублинской передаче",
            },
            Label {
                code: "interview_scheduled",
                pl: "Wyznaczenie przesłuchania",
                en: "Interview scheduled",
                uk: "Призначення співбесіди",
                ru: "Назначение собеседования",
            },
            Label {
                code: "interview_held",
                pl: "Przeprowadzenie przesłuchania",
                en: "Interview held",
                uk: "Проведення співбесіди",
                ru: "Проведение собеседования",
            },
            Label {
                code: "interview_missed",
                pl: "Niestawiennictwo na przesłuchaniu",
                en: "Interview missed",
                uk: "Неявка на співбесіду",
                ru: "Неявка на собеседование",
            },
            Label {
                code: "first_instance_decision",
                pl: "Decyzja I instancji",
                en: "First-instance decision",
                uk: "Рішення першої інстанції",
                ru: "Решение первой инстанции",
            },
            Label {
                code: "appeal_lodged",
                pl: "Wniesienie odwołania",
                en: "Appeal lodged",
                uk: "Подання апеляції",
                ru: "Подача апелляции",
            },
            Label {
                code: "appeal_decision",
                pl: "Decyzja Rady do Spraw Uchodźców",
                en: "Refugee Board decision",
                uk: "Рішення Ради у справах біженців",
                ru: "Решение Совета по делам беженцев",
            },
            Label {
                code: "court_complaint_filed",
                pl: "Wniesienie skargi do WSA",
                en: "Complaint filed with the administrative court (WSA)",
                uk: "Подання скарги до адміністративного суду (WSA)",
                ru: "Подача жалобы в административный суд (WSA)",
            },
            Label {
                code: "court_judgment",
                pl: "Wyrok sądu",
                en: "Court judgment",
                uk: "Рішення суду",
                ru: "Решение суда",
            },
            Label {
                code: "cassation_filed",
                pl: "Wniesienie skargi kasacyjnej do NSA",
                en: "Cassation complaint filed (NSA)",
                uk: "Подання касаційної скарги (NSA)",
                ru: "Подача кассационной жалобы (NSA)",
            },
            Label {
                code: "subsequent_application",
                pl: "Złożenie kolejnego wniosku",
                en: "Subsequent application lodged",
                uk: "Подання повторної заяви",
                ru: "Подача повторного заявления",
            },
            Label {
                code: "procedure_discontinued",
                pl: "Umorzenie postępowania",
                en: "Procedure discontinued",
                uk: "Припинення провадження",
                ru: "Прекращение производства",
            },
            Label {
                code: "work_certificate_issued",
                pl: "Wydanie zaświadczenia uprawniającego do pracy",
                en: "Work entitlement certificate issued",
                uk: "Видача довідки про право на працю",
                ru: "Выдача справки о праве на работу",
            },
            Label {
                code: "protection_granted",
                pl: "Udzielenie ochrony",
                en: "Protection granted",
                uk: "Надання захисту",
                ru: "Предоставление защиты",
            },
            Label {
                code: "ipi_started",
                pl: "Rozpoczęcie Indywidualnego Programu Integracji (IPI)",
                en: "Individual Integration Programme (IPI) started",
                uk: "Початок Індивідуальної програми інтеграції (IPI)",
                ru: "Начало Индивидуальной программы интеграции (IPI)",
            },
            Label {
                code: "left_reception_centre",
                pl: "Opuszczenie ośrodka dla cudzoziemców",
                en: "Left the reception centre",
                uk: "Вибуття з центру для іноземців",
                ru: "Выбытие из центра для иностранцев",
            },
        ],
    },
    Enumeration {
        name: "procedure_outcome",
        values: &[
            Label {
                code: "refugee_status",
                pl: "Status uchodźcy",
                en: "Refugee status",
                uk: "Статус біженця",
                ru: "Статус беженца",
            },
            Label {
                code: "subsidiary_protection",
                pl: "Ochrona uzupełniająca",
                en: "Subsidiary protection",
                uk: "Додатковий захист",
                ru: "Дополнительная защита",
            },
            Label {
                code: "humanitarian_stay",
                pl: "Zgoda na pobyt ze względów humanitarnych",
                en: "Humanitarian stay permit",
                uk: "Дозвіл на перебування з гуманітарних причин",
                ru: "Разрешение на пребывание по гуманитарным причинам",
            },
            Label {
                code: "tolerated_stay",
                pl: "Zgoda na pobyt tolerowany",
                en: "Tolerated stay permit",
                uk: "Дозвіл на толероване перебування",
                ru: "Разрешение на толерантное пребывание",
            },
            Label {
                code: "refusal",
                pl: "Odmowa udzielenia ochrony",
                en: "Refusal of protection",
                uk: "Відмова в наданні захисту",
                ru: "Отказ в предоставлении защиты",
            },
            Label {
                code: "discontinued",
                pl: "Umorzenie postępowania",
                en: "Proceedings discontinued",
                uk: "Припинення провадження",
                ru: "Прекращение производства",
            },
            Label {
                code: "inadmissible",
                pl: "Wniosek niedopuszczalny",
                en: "Application inadmissible",
                uk: "Заяву визнано неприйнятною",
                ru: "Заявление признано неприемлемым",
            },
            Label {
                code: "upheld",
                pl: "Utrzymanie decyzji w mocy",
                en: "Decision upheld",
                uk: "Рішення залишено в силі",
                ru: "Решение оставлено в силе",
            },
            Label {
                code: "annulled",
                pl: "Uchylenie decyzji",
                en: "Decision annulled",
                uk: "Рішення скасовано",
                ru: "Решение отменено",
            },
        ],
    },
    Enumeration {
        name: "procedure_stage",
        values: &[
            Label {
                code: "registered", pl: "Rejestracja", en: "Registration", uk: "Реєстрація", ru: "Регистрация"
            },
            Label {
                code: "first_instance",
                pl: "Postępowanie w I instancji (UdSC)",
                en: "First instance (UdSC)",
                uk: "Перша інстанція (UdSC)",
                ru: "Первая инстанция (UdSC)",
            },
            Label {
                code: "dublin",
                pl: "Procedura dublińska",
                en: "Dublin procedure",
                uk: "Дублінська процедура",
                ru: "Дублинская процедура",
            },
            Label {
                code: "appeal",
                pl: "Odwołanie (Rada do Spraw Uchodźców)",
                en: "Appeal (Refugee Board)",
                uk: "Апеляція (Рада у справах біженців)",
                ru: "Апелляция (Совет по делам беженцев)",
            },
            Label {
                code: "court_complaint",
                pl: "Skarga do WSA",
                en: "Complaint to the administrative court (WSA)",
                uk: "Скарга до адміністративного суду (WSA)",
                ru: "Жалоба в административный суд (WSA)",
            },
            Label {
                code: "cassation",
                pl: "Skarga kasacyjna do NSA",
                en: "Cassation complaint (NSA)",
                uk: "Касаційна скарга (NSA)",
                ru: "Кассационная жалоба (NSA)",
            },
            Label {
                code: "discontinued",
                pl: "Postępowanie umorzone",
                en: "Proceedings discontinued",
                uk: "Провадження припинено",
                ru: "Производство прекращено",
            },
            Label {
                code: "protection_granted",
                pl: "Udzielono ochrony",
                en: "Protection granted",
                uk: "Захист надано",
                ru: "Защита предоставлена",
            },
            Label {
                code: "final_negative",
                pl: "Prawomocna decyzja odmowna",
                en: "Final negative decision",
                uk: "Остаточне негативне рішення",
                ru: "Окончательное отрицательное решение",
            },
        ],
    },
    Enumeration {
        name: "deadline_rule",
        values: &[
            Label {
                code: "appeal_to_refugee_board",
                pl: "Odwołanie do Rady do Spraw Uchodźców",
                en: "Appeal to the Refugee Board",
                uk: "Апеляція до Ради у справах біженців",
                ru: "Апелляция в Совет по делам беженцев",
            },
            Label {
                code: "complaint_to_administrative_court",
                pl: "Skarga do WSA",
                en: "Complaint to the administrative court (WSA)",
                uk: "Скарга до адміністративного суду (WSA)",
                ru: "Жалоба в административный суд (WSA)",
            },
            Label {
                code: "cassation_to_supreme_administrative_court",
                pl: "Skarga kasacyjna do NSA",
                en: "Cassation complaint to the Supreme Administrative Court (NSA)",
                uk: "Касаційна скарга до Вищого адміністративного суду (NSA)",
                ru: "Кассационная жалоба в Высший административный суд (NSA)",
            },
            Label {
                code: "first_instance_decision_due",
                pl: "Wydanie decyzji w I instancji",
                en: "First-instance decision due",
                uk: "Ухвалення рішення першої інстанції",
                ru: "Вынесение решения первой инстанции",
            },
            Label {
                code: "work_certificate_eligibility",
                pl: "Możliwość uzyskania zaświadczenia uprawniającego do pracy",
                en: "Eligibility for the work entitlement certificate",
                uk: "Можливість отримати довідку про право на працю",
                ru: "Возможность получить справку о праве на работу",
            },
            Label {
                code: "declare_will_to_continue",
                pl: "Oświadczenie o zamiarze kontynuowania postępowania",
                en: "Declaration of intent to continue the procedure",
                uk: "Заява про намір продовжити провадження",
                ru: "Заявление о намерении продолжить производство",
            },
            Label {
                code: "apply_for_integration_programme",
                pl: "Wniosek o Indywidualny Program Integracji (IPI)",
                en: "Application for the Individual Integration Programme (IPI)",
                uk: "Заява на Індивідуальну програму інтеграції (IPI)",
                ru: "Заявление на Индивидуальную программу интеграции (IPI)",
            },
            Label {
                code: "leave_poland",
                pl: "Opuszczenie terytorium Polski",
                en: "Departure from Poland",
                uk: "Виїзд із Польщі",
                ru: "Выезд из Польши",
            },
            Label {
                code: "justify_missed_interview",
                pl: "Usprawiedliwienie niestawiennictwa na przesłuchaniu",
                en: "Justification of a missed interview",
                uk: "Пояснення причин неявки на співбесіду",
                ru: "Объяснение причин неявки на собеседование",
            },
        ],
    },
    Enumeration {
        name: "consent_purpose",
        values: &[
            Label {
                code: "processing",
                pl: "Przetwarzanie danych",
                en: "Data processing",
                uk: "Обробка даних",
                ru: "Обработка данных",
            },
            Label {
                code: "sharing_with_partner",
                pl: "Udostępnianie danych organizacji partnerskiej",
                en: "Sharing with a partner organisation",
                uk: "Передача даних партнерській організації",
                ru: "Передача данных партнёрской организации",
            },
            Label {
                code: "contact",
                pl: "Kontakt z klientem",
                en: "Contacting the client",
                uk: "Зв’язок із клієнтом",
                ru: "Связь с клиентом",
            },
        ],
    },
    Enumeration {
        name: "consent_scope",
        values: &[
            Label {
                code: "identity",
                pl: "Dane identyfikacyjne",
                en: "Identity details",
                uk: "Ідентифікаційні дані",
                ru: "Идентификационные данные",
            },
            Label {
                code: "contact",
                pl: "Dane kontaktowe",
                en: "Contact details",
                uk: "Контактні дані",
                ru: "Контактные данные",
            },
            Label {
                code: "procedure",
                pl: "Przebieg postępowania",
                en: "Procedure details",
                uk: "Перебіг процедури",
                ru: "Ход процедуры",
            },
            Label {
                code: "vulnerabilities",
                pl: "Szczególne potrzeby",
                en: "Vulnerabilities",
                uk: "Особливі потреби",
                ru: "Особые потребности",
            },
            Label {
                code: "household",
                pl: "Skład gospodarstwa domowego",
                en: "Household members",
                uk: "Склад домогосподарства",
                ru: "Состав домохозяйства",
            },
            Label {
                code: "documents",
                pl: "Dokumenty z akt sprawy",
                en: "Documents of the case file",
                uk: "Документи справи",
                ru: "Документы дела",
            },
        ],
    },
    Enumeration {
        name: "referral_urgency",
        values: &[
            Label { code: "routine", pl: "Zwykłe", en: "Routine", uk: "Звичайне", ru: "Обычное" },
            Label { code: "urgent", pl: "Pilne", en: "Urgent", uk: "Термінове", ru: "Срочное" },
            Label {
                code: "emergency", pl: "Natychmiastowe", en: "Emergency", uk: "Невідкладне", ru: "Экстренное"
            },
        ],
    },
    Enumeration {
        name: "referral_status",
        values: &[
            Label {
                code: "pending",
                pl: "Oczekujące",
                en: "Pending",
                uk: "Очікує розгляду",
                ru: "Ожидает рассмотрения",
            },
            Label { code: "accepted", pl: "Przyjęte", en: "Accepted", uk: "Прийнято", ru: "Принято" },
            Label {
                code: "declined", pl: "Odrzucone", en: "Declined", uk: "Відхилено", ru: "Отклонено"
            },
            Label {
                code: "cancelled", pl: "Anulowane", en: "Cancelled", uk: "Скасовано", ru: "Отменено"
            },
            Label {
                code: "completed", pl: "Zrealizowane", en: "Completed", uk: "Виконано", ru: "Выполнено"
            },
            Label {
                code: "expired", pl: "Wygasłe", en: "Expired", uk: "Термін минув", ru: "Срок истёк"
            },
        ],
    },
    Enumeration {
        name: "referral_decline_reason",
        values: &[
            Label {
                code: "no_capacity",
                pl: "Brak możliwości przyjęcia",
                en: "No capacity",
                uk: "Немає можливості прийняти",
                ru: "Нет возможности принять",
            },
            Label {
                code: "service_not_offered",
                pl: "Usługa nie jest świadczona",
                en: "Service not offered",
                uk: "Послуга не надається",
                ru: "Услуга не предоставляется",
            },
            Label {
                code: "outside_area",
                pl: "Poza obszarem działania",
                en: "Outside service area",
                uk: "Поза зоною обслуговування",
                ru: "Вне зоны обслуживания",
            },
            Label {
                code: "client_unreachable",
                pl: "Brak kontaktu z klientem",
                en: "Client unreachable",
                uk: "Немає зв’язку з клієнтом",
                ru: "Нет связи с клиентом",
            },
            Label {
                code: "duplicate",
                pl: "Zdublowane skierowanie",
                en: "Duplicate referral",
                uk: "Дублікат направлення",
                ru: "Дубликат направления",
            },
            Label {
                code: "other", pl: "Inny powód", en: "Other reason", uk: "Інша причина", ru: "Другая причина"
            },
        ],
    },
    Enumeration {
        name: "audit_outcome",
        values: &[
            Label { code: "success", pl: "Powodzenie", en: "Success", uk: "Успішно", ru: "Успешно" },
            Label { code: "failure", pl: "Niepowodzenie", en: "Failure", uk: "Помилка", ru: "Ошибка" },
            Label {
                code: "denied",
                pl: "Odmowa dostępu",
                en: "Access denied",
                uk: "Доступ заборонено",
                ru: "Доступ запрещён",
            },
        ],
    },
    Enumeration {
        name: "appointment_status",
        values: &[
            Label {
                code: "planned", pl: "Zaplanowane", en: "Planned", uk: "Заплановано", ru: "Запланировано"
            },
            Label {
                code: "confirmed", pl: "Potwierdzone", en: "Confirmed", uk: "Підтверджено", ru: "Подтверждено"
            },
            Label { code: "held", pl: "Odbyte", en: "Held", uk: "Відбулося", ru: "Состоялось" },
            Label {
                code: "cancelled", pl: "Odwołane", en: "Cancelled", uk: "Скасовано", ru: "Отменено"
            },
            Label {
                code: "no_show",
                pl: "Klient nie przyszedł",
                en: "Client did not come",
                uk: "Клієнт не прийшов",
                ru: "Клиент не пришёл",
            },
        ],
    },
    Enumeration {
        name: "agenda_entry_kind",
        values: &[
            Label {
                code: "appointment", pl: "Spotkanie", en: "Appointment", uk: "Зустріч", ru: "Встреча"
            },
            Label { code: "busy", pl: "Zajęty", en: "Busy", uk: "Зайнято", ru: "Занят" },
            Label {
                code: "legal_deadline",
                pl: "Termin ustawowy",
                en: "Legal deadline",
                uk: "Встановлений законом строк",
                ru: "Установленный законом срок",
            },
            Label {
                code: "follow_up",
                pl: "Kontynuacja",
                en: "Follow-up",
                uk: "Подальша зустріч",
                ru: "Последующая встреча",
            },
            Label { code: "task", pl: "Zadanie", en: "Task", uk: "Завдання", ru: "Задача" },
        ],
    },
    Enumeration {
        name: "event_type",
        values: &[
            Label {
                code: "referral_sent",
                pl: "Nowe skierowanie",
                en: "New referral",
                uk: "Нове направлення",
                ru: "Новое направление",
            },
            Label {
                code: "referral_accepted",
                pl: "Skierowanie przyjęte",
                en: "Referral accepted",
                uk: "Направлення прийнято",
                ru: "Направление принято",
            },
            Label {
                code: "referral_declined",
                pl: "Skierowanie odrzucone",
                en: "Referral declined",
                uk: "Направлення відхилено",
                ru: "Направление отклонено",
            },
            Label {
                code: "referral_cancelled",
                pl: "Skierowanie anulowane",
                en: "Referral cancelled",
                uk: "Направлення скасовано",
                ru: "Направление отменено",
            },
            Label {
                code: "referral_completed",
                pl: "Skierowanie zrealizowane",
                en: "Referral completed",
                uk: "Направлення виконано",
                ru: "Направление выполнено",
            },
            Label {
                code: "referral_expired",
                pl: "Skierowanie wygasło bez odpowiedzi",
                en: "Referral expired unanswered",
                uk: "Направлення залишилося без відповіді",
                ru: "Направление осталось без ответа",
            },
            Label {
                code: "referral_due_soon",
                pl: "Zbliża się termin odpowiedzi na skierowanie",
                en: "Referral answer due soon",
                uk: "Наближається термін відповіді на направлення",
                ru: "Приближается срок ответа на направление",
            },
            Label {
                code: "deadline_due_soon",
                pl: "Zbliża się termin ustawowy",
                en: "Legal deadline approaching",
                uk: "Наближається встановлений законом строк",
                ru: "Приближается установленный законом срок",
            },
            Label {
                code: "consent_withdrawn",
                pl: "Zgoda cofnięta, dostęp do danych zakończony",
                en: "Consent withdrawn, access to shared data ended",
                uk: "Згоду відкликано, доступ до даних припинено",
                ru: "Согласие отозвано, доступ к данным прекращён",
            },
            Label {
                code: "referred_client_erased",
                pl: "Dane skierowanej osoby usunięte przez nadawcę",
                en: "Referred client erased by the sender",
                uk: "Відправник видалив дані направленої особи",
                ru: "Отправитель удалил данные направленного лица",
            },
            Label {
                code: "webhook_test",
                pl: "Test webhooka",
                en: "Webhook test",
                uk: "Тест вебхука",
                ru: "Тест вебхука",
            },
        ],
    },
    Enumeration {
        name: "delivery_status",
        values: &[
            Label { code: "pending", pl: "Oczekuje", en: "Pending", uk: "Очікує", ru: "Ожидает" },
            Label {
                code: "delivered", pl: "Dostarczono", en: "Delivered", uk: "Доставлено", ru: "Доставлено"
            },
            Label {
                code: "failed", pl: "Nie dostarczono", en: "Failed", uk: "Не доставлено", ru: "Не доставлено"
            },
        ],
    },
    Enumeration {
        name: "interface_language",
        values: &[
            Label { code: "pl", pl: "Polski", en: "Polish", uk: "Польська", ru: "Польский" },
            Label {
                code: "en", pl: "Angielski", en: "English", uk: "Англійська", ru: "Английский"
            },
            Label {
                code: "uk", pl: "Ukraiński", en: "Ukrainian", uk: "Українська", ru: "Украинский"
            },
            Label { code: "ru", pl: "Rosyjski", en: "Russian", uk: "Російська", ru: "Русский" },
        ],
    },
];

/// The label of `code` in `enumeration` in `language` (`pl`, `en`, `uk` or `ru`).
pub fn label(enumeration: &str, code: &str, language: &str) -> Option<&'static str> {
    let value = ENUMERATIONS.iter().find(|e| e.name == enumeration)?.values.iter().find(|v| v.code == code)?;
    match language {
        "pl" => Some(value.pl),
        "en" => Some(value.en),
        "uk" => Some(value.uk),
        "ru" => Some(value.ru),
        _ => None,
    }
}
