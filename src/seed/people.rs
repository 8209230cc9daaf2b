//! Invented people with the make-up of Poland's international-protection caseload: who applies
//! (nationality, language, region), their names in Latin and — for Cyrillic-script countries —
//! native script, sex, age, vulnerabilities, where they live, and their documents.
//!
//! Shares are rounded from the Office for Foreigners' yearly statistics of applicants: Russian
//! citizens (almost all from Chechnya) are the largest group, followed by Belarus, Ukraine,
//! Tajikistan and Afghanistan. The names are common ones in each country, combined at random;
//! they describe no real person.

use rand::Rng;

use crate::clients::model::{ClientInput, Identifier};
use crate::domain::client::{Accommodation, IdentifierKind, Sex, Vulnerability};

/// Picks one of `items` with probability proportional to its weight.
pub fn weighted<'a, T>(rng: &mut impl Rng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, weight)| weight).sum();
    let mut ticket = rng.gen_range(0..total.max(1));
    for (item, weight) in items {
        if ticket < *weight {
            return item;
        }
        ticket -= weight;
    }
    &items[items.len() - 1].0
}

/// One of `items`, uniformly.
pub fn any<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// A given name: Latin transliteration as in the passport, and the native spelling (empty when
/// the country does not write in Cyrillic).
type Given = (&'static str, &'static str);

/// A family name in its male and female forms, Latin and native.
struct Surname {
    male: &'static str,
    female: &'static str,
    native_male: &'static str,
    native_female: &'static str,
}

/// `"Dudayev" / "Дудаев" +a` gives the female forms by the Russian (and Tajik) rule; without
/// `+a` the name does not change with sex; without a native form the country writes in Latin
/// (for these purposes) or another script the seed data does not model.
macro_rules! surname {
    ($latin:literal / $native:literal +a) => {
        Surname {
            male: $latin,
            female: concat!($latin, "a"),
            native_male: $native,
            native_female: concat!($native, "а"),
        }
    };
    ($latin:literal / $native:literal, $latin_f:literal / $native_f:literal) => {
        Surname { male: $latin, female: $latin_f, native_male: $native, native_female: $native_f }
    };
    ($latin:literal / $native:literal) => {
        Surname { male: $latin, female: $latin, native_male: $native, native_female: $native }
    };
    ($latin:literal) => {
        Surname { male: $latin, female: $latin, native_male: "", native_female: "" }
    };
}

/// Applicants of one country.
struct Profile {
    nationality: &'static str,
    languages: &'static [(&'static [&'static str], u32)],
    regions: &'static [(&'static str, u32)],
    /// Share that needs an interpreter, in percent.
    interpreter_percent: u32,
    male: &'static [Given],
    female: &'static [Given],
    surnames: &'static [Surname],
}

const CHECHNYA: Profile = Profile {
    nationality: "RU",
    languages: &[(&["ce", "ru"], 85), (&["ru", "ce"], 10), (&["ru"], 5)],
    regions: &[("Chechnya", 88), ("Ingushetia", 6), ("Dagestan", 6)],
    interpreter_percent: 85,
    male: &[
        ("Magomed", "Магомед"),
        ("Ramzan", "Рамзан"),
        ("Akhmed", "Ахмед"),
        ("Islam", "Ислам"),
        ("Adam", "Адам"),
        ("Rustam", "Рустам"),
        ("Khamzat", "Хамзат"),
        ("Aslan", "Аслан"),
        ("Umar", "Умар"),
        ("Ibragim", "Ибрагим"),
        ("Said", "Саид"),
        ("Zelimkhan", "Зелимхан"),
        ("Movsar", "Мовсар"),
        ("Shamil", "Шамиль"),
        ("Apti", "Апти"),
        ("Ali", "Али"),
    ],
    female: &[
        ("Amina", "Амина"),
        ("Khadizhat", "Хадижат"),
        ("Zarema", "Зарема"),
        ("Madina", "Мадина"),
        ("Kheda", "Хеда"),
        ("Malika", "Малика"),
        ("Petimat", "Петимат"),
        ("Aishat", "Айшат"),
        ("Liana", "Лиана"),
        ("Seda", "Седа"),
        ("Raisa", "Раиса"),
        ("Zalina", "Залина"),
    ],
    surnames: &[
        surname!("Dudayev" / "Дудаев" + a),
        surname!("Kadyrov" / "Кадыров" + a),
        surname!("Magomadov" / "Магомадов" + a),
        surname!("Umarov" / "Умаров" + a),
        surname!("Tsurayev" / "Цураев" + a),
        surname!("Bisultanov" / "Бисултанов" + a),
        surname!("Khasanov" / "Хасанов" + a),
        surname!("Ismailov" / "Исмаилов" + a),
        surname!("Musayev" / "Мусаев" + a),
        surname!("Gaziyev" / "Газиев" + a),
        surname!("Saidulayev" / "Саидулаев" + a),
        surname!("Elmurzayev" / "Эльмурзаев" + a),
        surname!("Dzhabrailov" / "Джабраилов" + a),
        surname!("Akhmadov" / "Ахмадов" + a),
        surname!("Temirkhanov" / "Темирханов" + a),
        surname!("Yusupov" / "Юсупов" + a),
        surname!("Mezhidov" / "Межидов" + a),
        surname!("Betmirzayev" / "Бетмирзаев" + a),
    ],
};

const BELARUS: Profile = Profile {
    nationality: "BY",
    languages: &[(&["ru", "be"], 60), (&["be", "ru"], 30), (&["ru"], 10)],
    regions: &[("Minsk", 45), ("Hrodna", 15), ("Brest", 15), ("Homel", 10), ("Vitebsk", 8), ("Mahilyow", 7)],
    interpreter_percent: 30,
    male: &[
        ("Aliaksandr", "Аляксандр"),
        ("Siarhei", "Сяргей"),
        ("Dzmitry", "Дзмітрый"),
        ("Andrei", "Андрэй"),
        ("Pavel", "Павел"),
        ("Maksim", "Максім"),
        ("Ihar", "Ігар"),
        ("Vadzim", "Вадзім"),
        ("Uladzimir", "Уладзімір"),
        ("Yauhen", "Яўген"),
    ],
    female: &[
        ("Volha", "Вольга"),
        ("Tatsiana", "Таццяна"),
        ("Iryna", "Ірына"),
        ("Hanna", "Ганна"),
        ("Alena", "Алена"),
        ("Maryia", "Марыя"),
        ("Natallia", "Наталля"),
        ("Sviatlana", "Святлана"),
        ("Yuliya", "Юлія"),
    ],
    surnames: &[
        surname!("Kavalenka" / "Каваленка"),
        surname!("Navumenka" / "Навуменка"),
        surname!("Kazlou" / "Казлоў", "Kazlova" / "Казлова"),
        surname!("Marozau" / "Марозаў", "Marozava" / "Марозава"),
        surname!("Navikau" / "Навікаў", "Navikava" / "Навікава"),
        surname!("Zhuk" / "Жук"),
        surname!("Shved" / "Швед"),
        surname!("Karpovich" / "Карповіч"),
        surname!("Hrynkevich" / "Грынкевіч"),
        surname!("Sidarenka" / "Сідарэнка"),
        surname!("Lukashevich" / "Лукашэвіч"),
        surname!("Bandarenka" / "Бандарэнка"),
    ],
};

const UKRAINE: Profile = Profile {
    nationality: "UA",
    languages: &[(&["uk"], 60), (&["uk", "ru"], 30), (&["ru", "uk"], 10)],
    regions: &[("Kharkiv", 25), ("Donetsk", 20), ("Zaporizhzhia", 15), ("Kyiv", 15), ("Mykolaiv", 10), ("Kherson", 15)],
    interpreter_percent: 20,
    male: &[
        ("Oleksandr", "Олександр"),
        ("Andrii", "Андрій"),
        ("Serhii", "Сергій"),
        ("Dmytro", "Дмитро"),
        ("Mykola", "Микола"),
        ("Yurii", "Юрій"),
        ("Vasyl", "Василь"),
        ("Taras", "Тарас"),
        ("Bohdan", "Богдан"),
        ("Volodymyr", "Володимир"),
    ],
    female: &[
        ("Olena", "Олена"),
        ("Iryna", "Ірина"),
        ("Nataliia", "Наталія"),
        ("Oksana", "Оксана"),
        ("Kateryna", "Катерина"),
        ("Yuliia", "Юлія"),
        ("Svitlana", "Світлана"),
        ("Halyna", "Галина"),
        ("Tetiana", "Тетяна"),
    ],
    surnames: &[
        surname!("Kovalenko" / "Коваленко"),
        surname!("Shevchenko" / "Шевченко"),
        surname!("Bondarenko" / "Бондаренко"),
        surname!("Tkachenko" / "Ткаченко"),
        surname!("Kravchenko" / "Кравченко"),
        surname!("Melnyk" / "Мельник"),
        surname!("Boiko" / "Бойко"),
        surname!("Koval" / "Коваль"),
        surname!("Oliinyk" / "Олійник"),
        surname!("Shevchuk" / "Шевчук"),
        surname!("Polishchuk" / "Поліщук"),
        surname!("Lysenko" / "Лисенко"),
        surname!("Savchenko" / "Савченко"),
        surname!("Rudenko" / "Руденко"),
    ],
};

const TAJIKISTAN: Profile = Profile {
    nationality: "TJ",
    languages: &[(&["tg", "ru"], 80), (&["tg"], 20)],
    regions: &[("Dushanbe", 35), ("Khatlon", 30), ("Sughd", 20), ("Gorno-Badakhshan", 15)],
    interpreter_percent: 80,
    male: &[
        ("Firuz", "Фируз"),
        ("Rustam", "Рустам"),
        ("Jamshed", "Джамшед"),
        ("Behruz", "Бехруз"),
        ("Farrukh", "Фаррух"),
        ("Daler", "Далер"),
        ("Umed", "Умед"),
        ("Sino", "Сино"),
        ("Parviz", "Парвиз"),
    ],
    female: &[
        ("Nilufar", "Нилуфар"),
        ("Gulnora", "Гульнора"),
        ("Zarina", "Зарина"),
        ("Madina", "Мадина"),
        ("Shahnoza", "Шахноза"),
        ("Manizha", "Манижа"),
        ("Tahmina", "Тахмина"),
    ],
    surnames: &[
        surname!("Rahimov" / "Рахимов" + a),
        surname!("Karimov" / "Каримов" + a),
        surname!("Nazarov" / "Назаров" + a),
        surname!("Sharipov" / "Шарипов" + a),
        surname!("Saidov" / "Саидов" + a),
        surname!("Safarov" / "Сафаров" + a),
        surname!("Davlatov" / "Давлатов" + a),
        surname!("Khudoyorov" / "Худоёров" + a),
        surname!("Mirzoyev" / "Мирзоев" + a),
    ],
};

const AFGHANISTAN: Profile = Profile {
    nationality: "AF",
    languages: &[(&["prs"], 45), (&["fa"], 25), (&["ps", "prs"], 20), (&["prs", "en"], 10)],
    regions: &[("Kabul", 45), ("Herat", 20), ("Mazar-i-Sharif", 15), ("Kandahar", 10), ("Nangarhar", 10)],
    interpreter_percent: 90,
    male: &[
        ("Ahmad", ""),
        ("Mohammad", ""),
        ("Abdul", ""),
        ("Farid", ""),
        ("Hamid", ""),
        ("Naveed", ""),
        ("Zabihullah", ""),
        ("Mustafa", ""),
        ("Rahmatullah", ""),
    ],
    female: &[
        ("Fatima", ""),
        ("Zahra", ""),
        ("Maryam", ""),
        ("Shabnam", ""),
        ("Farzana", ""),
        ("Nargis", ""),
        ("Mina", ""),
        ("Sahar", ""),
    ],
    surnames: &[
        surname!("Ahmadi"),
        surname!("Rahimi"),
        surname!("Hakimi"),
        surname!("Sultani"),
        surname!("Noori"),
        surname!("Karimi"),
        surname!("Haidari"),
        surname!("Popal"),
        surname!("Wardak"),
        surname!("Stanikzai"),
        surname!("Sadat"),
    ],
};

const IRAQ: Profile = Profile {
    nationality: "IQ",
    languages: &[(&["ar"], 50), (&["ku", "ar"], 40), (&["ku"], 10)],
    regions: &[("Kurdistan Region", 50), ("Baghdad", 25), ("Nineveh", 15), ("Basra", 10)],
    interpreter_percent: 90,
    male: &[
        ("Ali", ""),
        ("Hussein", ""),
        ("Ahmed", ""),
        ("Omar", ""),
        ("Karwan", ""),
        ("Rebwar", ""),
        ("Hassan", ""),
        ("Mustafa", ""),
    ],
    female: &[
        ("Zainab", ""),
        ("Noor", ""),
        ("Fatima", ""),
        ("Shirin", ""),
        ("Avin", ""),
        ("Rozhin", ""),
        ("Sara", ""),
        ("Huda", ""),
    ],
    surnames: &[
        surname!("Al-Jaburi"),
        surname!("Hassan"),
        surname!("Abdullah"),
        surname!("Mahmoud"),
        surname!("Rashid"),
        surname!("Salih"),
        surname!("Kareem"),
        surname!("Aziz"),
        surname!("Jaff"),
    ],
};

const ERITREA: Profile = Profile {
    nationality: "ER",
    languages: &[(&["ti"], 75), (&["ti", "en"], 25)],
    regions: &[("Asmara", 40), ("Gash-Barka", 30), ("Debub", 30)],
    interpreter_percent: 95,
    male: &[("Yonas", ""), ("Tesfay", ""), ("Habtom", ""), ("Mehari", ""), ("Filmon", ""), ("Samuel", "")],
    female: &[("Helen", ""), ("Senait", ""), ("Freweini", ""), ("Selam", ""), ("Rahel", ""), ("Luwam", "")],
    surnames: &[
        surname!("Tesfamariam"),
        surname!("Gebremedhin"),
        surname!("Haile"),
        surname!("Tekle"),
        surname!("Berhane"),
        surname!("Kidane"),
        surname!("Woldu"),
    ],
};

const SOMALIA: Profile = Profile {
    nationality: "SO",
    languages: &[(&["so"], 70), (&["so", "ar"], 20), (&["so", "en"], 10)],
    regions: &[("Banaadir", 50), ("Jubaland", 25), ("Puntland", 25)],
    interpreter_percent: 95,
    male: &[("Abdi", ""), ("Mohamed", ""), ("Ahmed", ""), ("Abdirahman", ""), ("Hassan", ""), ("Yusuf", "")],
    female: &[("Hodan", ""), ("Amina", ""), ("Fadumo", ""), ("Ifrah", ""), ("Sahra", ""), ("Hibo", "")],
    surnames: &[
        surname!("Farah"),
        surname!("Warsame"),
        surname!("Abdi"),
        surname!("Hassan"),
        surname!("Mohamud"),
        surname!("Jama"),
        surname!("Osman"),
    ],
};

const GEORGIA: Profile = Profile {
    nationality: "GE",
    languages: &[(&["ka", "ru"], 70), (&["ka"], 30)],
    regions: &[("Pankisi", 60), ("Tbilisi", 40)],
    interpreter_percent: 70,
    male: &[("Giorgi", ""), ("Levan", ""), ("Davit", ""), ("Irakli", "")],
    female: &[("Nino", ""), ("Tamar", ""), ("Mariam", ""), ("Ketevan", "")],
    surnames: &[surname!("Beridze"), surname!("Kapanadze"), surname!("Margoshvili"), surname!("Tsiklauri")],
};

const SYRIA: Profile = Profile {
    nationality: "SY",
    languages: &[(&["ar"], 80), (&["ar", "ku"], 20)],
    regions: &[("Aleppo", 40), ("Idlib", 30), ("Damascus", 30)],
    interpreter_percent: 90,
    male: &[("Mahmoud", ""), ("Khaled", ""), ("Yaser", ""), ("Bilal", "")],
    female: &[("Rasha", ""), ("Hiba", ""), ("Lama", ""), ("Dima", "")],
    surnames: &[surname!("Al-Hamwi"), surname!("Haddad"), surname!("Khatib"), surname!("Najjar")],
};

const IRAN: Profile = Profile {
    nationality: "IR",
    languages: &[(&["fa"], 85), (&["fa", "en"], 15)],
    regions: &[("Tehran", 50), ("Isfahan", 25), ("Kurdistan", 25)],
    interpreter_percent: 80,
    male: &[("Reza", ""), ("Amir", ""), ("Mehdi", ""), ("Hossein", "")],
    female: &[("Leila", ""), ("Parisa", ""), ("Neda", ""), ("Shirin", "")],
    surnames: &[surname!("Hosseini"), surname!("Rezaei"), surname!("Moradi"), surname!("Jafari")],
};

/// Shares of applicants in tenths of a percent; the "other" 3 % are Georgian, Syrian and Iranian.
const PROFILES: &[(&Profile, u32)] = &[
    (&CHECHNYA, 400),
    (&BELARUS, 150),
    (&UKRAINE, 150),
    (&TAJIKISTAN, 80),
    (&AFGHANISTAN, 80),
    (&IRAQ, 50),
    (&ERITREA, 30),
    (&SOMALIA, 30),
    (&GEORGIA, 10),
    (&SYRIA, 10),
    (&IRAN, 10),
];

/// Where clients live: the cities with reception centres and partner offices.
pub const CITIES: &[(&str, u32)] =
    &[("Warszawa", 38), ("Lublin", 16), ("Białystok", 12), ("Łódź", 10), ("Poznań", 12), ("Wrocław", 12)];

const ACCOMMODATION: &[(Accommodation, u32)] = &[
    (Accommodation::ReceptionCentre, 45),
    (Accommodation::Private, 38),
    (Accommodation::ResidentialCentre, 6),
    (Accommodation::Detention, 3),
    (Accommodation::Homeless, 2),
    (Accommodation::Unknown, 6),
];

/// Ages of applicants: many children in families, most adults young.
const AGE_BANDS: &[((u32, u32), u32)] = &[
    ((0, 4), 10),
    ((5, 13), 15),
    ((14, 17), 7),
    ((18, 24), 14),
    ((25, 34), 22),
    ((35, 49), 21),
    ((50, 64), 8),
    ((65, 74), 3),
];

/// Birth years run from 1950 to 2024: ages are counted from 2024, so the same seed gives the same
/// people whatever year it is run in.
const AGE_BASE_YEAR: i32 = 2024;

/// Vulnerabilities an adult may have (SPEC §2.3.1), by how often partners record them.
const ADULT_VULNERABILITIES: &[(Vulnerability, u32)] = &[
    (Vulnerability::Ptsd, 20),
    (Vulnerability::TortureVictim, 12),
    (Vulnerability::ViolenceVictim, 14),
    (Vulnerability::SeriousIllness, 10),
    (Vulnerability::Disability, 7),
    (Vulnerability::SingleParent, 12),
    (Vulnerability::MentalDisorder, 8),
    (Vulnerability::GenderBasedViolence, 6),
    (Vulnerability::TraffickingVictim, 2),
    (Vulnerability::Lgbti, 3),
    (Vulnerability::Pregnant, 5),
    (Vulnerability::Fgm, 1),
];

/// How many vulnerabilities a person has recorded: most none, few two.
const VULNERABILITY_COUNT: &[(usize, u32)] = &[(0, 55), (1, 30), (2, 15)];

fn fits(vulnerability: Vulnerability, sex: Sex, nationality: &str) -> bool {
    match vulnerability {
        Vulnerability::Pregnant | Vulnerability::GenderBasedViolence => sex == Sex::Female,
        Vulnerability::Fgm => sex == Sex::Female && matches!(nationality, "ER" | "SO"),
        _ => true,
    }
}

/// A random person as a frontend would send it. `serial` makes document numbers unique.
pub fn person(rng: &mut impl Rng, serial: u64) -> ClientInput {
    let profile = *weighted(rng, PROFILES);
    person_from(rng, profile, serial)
}

fn person_from(rng: &mut impl Rng, profile: &Profile, serial: u64) -> ClientInput {
    let sex = match rng.gen_range(0..1000) {
        0..=549 => Sex::Male,
        550..=989 => Sex::Female,
        990..=994 => Sex::Other,
        _ => Sex::Unknown,
    };
    let female = sex == Sex::Female;
    let given = any(rng, if female { profile.female } else { profile.male });
    let surname = any(rng, profile.surnames);
    let (family, native_family) =
        if female { (surname.female, surname.native_female) } else { (surname.male, surname.native_male) };
    let native_name =
        (!given.1.is_empty() && !native_family.is_empty()).then(|| format!("{} {native_family}", given.1));

    let (youngest, oldest) = *weighted(rng, AGE_BANDS);
    let age = rng.gen_range(youngest..=oldest) as i32;
    let birth_year = AGE_BASE_YEAR - age;
    // Documents of many applicants give only the year of birth.
    let date_of_birth =
        rng.gen_bool(0.7).then(|| chrono::NaiveDate::from_yo_opt(birth_year, rng.gen_range(1..=365))).flatten();

    let mut vulnerabilities = Vec::new();
    let wanted = *weighted(rng, VULNERABILITY_COUNT);
    if age < 18 {
        vulnerabilities.push(if rng.gen_bool(0.03) { Vulnerability::UnaccompaniedMinor } else { Vulnerability::Minor });
    } else if age >= 65 {
        vulnerabilities.push(Vulnerability::Elderly);
    }
    let target = wanted.max(vulnerabilities.len()).min(2);
    while vulnerabilities.len() < target {
        let candidate = *weighted(rng, ADULT_VULNERABILITIES);
        let adult_only = matches!(
            candidate,
            Vulnerability::SingleParent | Vulnerability::Pregnant | Vulnerability::GenderBasedViolence
        );
        if fits(candidate, sex, profile.nationality)
            && !(adult_only && age < 18)
            && !vulnerabilities.contains(&candidate)
        {
            vulnerabilities.push(candidate);
        }
    }

    let mut identifiers = Vec::new();
    if rng.gen_bool(0.6) {
        identifiers.push(Identifier {
            kind: IdentifierKind::UdscCaseNumber,
            value: format!("DPU-420-{:07}/{}", serial, rng.gen_range(19..=25)),
        });
    }
    if rng.gen_bool(0.3) {
        let letters: String = (0..2).map(|_| char::from(rng.gen_range(b'A'..=b'Z'))).collect();
        identifiers.push(Identifier {
            kind: IdentifierKind::Passport,
            value: format!("{letters}{:07}", rng.gen_range(0..10_000_000)),
        });
    }

    let languages: Vec<String> = weighted(rng, profile.languages).iter().map(|code| (*code).to_owned()).collect();
    let city = rng.gen_bool(0.95).then(|| (*weighted(rng, CITIES)).to_owned());
    let phone = (age >= 16 && rng.gen_bool(0.7)).then(|| {
        format!("+48 {} {:03} {:03}", rng.gen_range(500..=799), rng.gen_range(0..1000), rng.gen_range(0..1000))
    });
    // The Office for Foreigners writes Cyrillic names in Polish transliteration; a third of the
    // clients from Cyrillic-script countries carry that spelling as an alias.
    let latin = format!("{} {family}", given.0);
    let aliases = match &native_name {
        Some(_) if serial.is_multiple_of(3) => {
            Some(crate::domain::names::polish_spelling(&latin)).filter(|polish| *polish != latin).into_iter().collect()
        }
        _ => Vec::new(),
    };
    ClientInput {
        given_names: given.0.to_owned(),
        family_name: family.to_owned(),
        native_name,
        aliases,
        date_of_birth,
        birth_year: Some(birth_year),
        sex,
        nationalities: vec![profile.nationality.to_owned()],
        region_of_origin: rng.gen_bool(0.8).then(|| (*weighted(rng, profile.regions)).to_owned()),
        languages,
        interpreter_needed: rng.gen_range(0..100) < profile.interpreter_percent,
        city,
        accommodation: *weighted(rng, ACCOMMODATION),
        phone,
        email: None,
        vulnerabilities,
        identifiers,
        assigned_counselor_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
    }

    #[test]
    fn shares_add_up_to_the_whole_caseload() {
        assert_eq!(PROFILES.iter().map(|(_, weight)| weight).sum::<u32>(), 1000);
    }

    #[test]
    fn every_generated_person_is_a_valid_client() {
        let mut rng = StdRng::seed_from_u64(7);
        for serial in 0..5000 {
            let input = person(&mut rng, serial);
            let fields = input.parse(today()).unwrap_or_else(|e| panic!("{input:?} is invalid: {e:?}"));
            assert!(fields.vulnerabilities.len() <= 2);
            assert!((1950..=2024).contains(&fields.birth_year.unwrap()));
        }
    }

    #[test]
    fn cyrillic_countries_carry_a_native_name_that_folds_to_the_latin_one() {
        let mut rng = StdRng::seed_from_u64(11);
        for serial in 0..200 {
            let input = person_from(&mut rng, &CHECHNYA, serial);
            let native = input.native_name.clone().unwrap();
            assert!(native.chars().any(|c| ('\u{400}'..='\u{4ff}').contains(&c)), "{native}");
            let given = crate::domain::names::fold(&input.given_names);
            let native_given = crate::domain::names::fold(native.split(' ').next().unwrap());
            assert_eq!(given.chars().next(), native_given.chars().next(), "{given} / {native_given}");
        }
    }

    #[test]
    fn every_spelling_of_a_generated_person_is_matched_as_one_name() {
        use crate::domain::names::{SAME_PERSON, similarity};
        let mut rng = StdRng::seed_from_u64(13);
        let mut aliases = 0;
        for serial in 0..3000 {
            let input = person(&mut rng, serial);
            let latin = format!("{} {}", input.given_names, input.family_name);
            for variant in input.native_name.iter().chain(&input.aliases) {
                assert!(similarity(&latin, variant) >= SAME_PERSON, "{latin} / {variant}");
            }
            aliases += input.aliases.len();
        }
        assert!(aliases > 300, "{aliases}");
    }

    #[test]
    fn the_same_seed_gives_the_same_people() {
        let people = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..50).map(|serial| format!("{:?}", person(&mut rng, serial))).collect::<Vec<_>>()
        };
        assert_eq!(people(42), people(42));
        assert_ne!(people(42), people(43));
    }

    #[test]
    fn the_mix_of_nationalities_follows_the_caseload() {
        let mut rng = StdRng::seed_from_u64(42);
        let total = 20_000;
        let russian = (0..total).filter(|&serial| person(&mut rng, serial).nationalities[0] == "RU").count();
        let share = russian as f64 / total as f64;
        assert!((0.37..0.43).contains(&share), "{share}");
    }
}
