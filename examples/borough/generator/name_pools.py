"""Name pools for the synthetic borough, by heritage group (all common names; no real person implied).

Weights are the share of households of each heritage. Transliteration variants and nicknames are the
spellings other systems record for the same person.
"""

from __future__ import annotations

HERITAGE_WEIGHTS = {
    "english": 0.50,
    "irish": 0.04,
    "south_asian": 0.13,
    "african": 0.08,
    "caribbean": 0.05,
    "eastern_european": 0.09,
    "chinese": 0.04,
    "arabic": 0.07,
}

GIVEN_NAMES = {
    "english": {
        "F": "Olivia Amelia Isla Ava Emily Sophie Grace Lily Ella Jessica Charlotte Chloe Lucy Hannah Megan "
        "Emma Sarah Laura Rebecca Rachel Elizabeth Katherine Victoria Jennifer Abigail Margaret Susan Karen "
        "Julie Tracey Michelle Nicola Joanne Samantha Leanne Kayleigh Danielle Holly Poppy Freya Evie Ruby",
        "M": "Oliver George Harry Jack Jacob Noah Charlie Thomas Oscar William James Daniel Joshua Samuel "
        "Matthew Benjamin Alexander Christopher Jonathan Michael Robert Edward Anthony Joseph David Richard "
        "Paul Mark Stephen Andrew Gary Darren Lee Craig Liam Connor Callum Kieran Ryan Tyler Alfie Archie",
    },
    "irish": {
        "F": "Aoife Siobhan Niamh Ciara Roisin Sinead Orla Mary Bridget Caoimhe Eileen Maeve Grainne Deirdre",
        "M": "Sean Patrick Declan Ciaran Conor Padraig Eoin Liam Cormac Niall Brendan Kevin Fergal Donal",
    },
    "south_asian": {
        "F": "Fatima Aisha Zainab Maryam Amina Khadija Ayesha Sana Nadia Priya Anjali Sunita Harpreet Simran "
        "Nusrat Rukhsana Shazia Farzana Taslima Jasmin Parveen Noor Hafsa Inaaya Amira Riya Kiran",
        "M": "Mohammed Ahmed Ali Hussein Hassan Imran Bilal Usman Zain Ibrahim Yusuf Abdullah Arjun Rahul "
        "Sanjay Gurpreet Harjit Rajesh Amir Faisal Tariq Shahid Kamran Rizwan Aryan Ayaan Rohan",
    },
    "african": {
        "F": "Chioma Ngozi Adaeze Folake Abena Ama Amina Hodan Faduma Nimco Blessing Precious Grace Esther "
        "Funmilayo Yetunde Kemi Zainab Halima Comfort",
        "M": "Chinedu Oluwaseun Tunde Emeka Kwame Kofi Kwabena Abdi Mohamed Ahmed Samuel Emmanuel David "
        "Olumide Babajide Ifeanyi Musa Abdirahman Yusuf Daniel",
    },
    "caribbean": {
        "F": "Shanice Tanisha Keisha Marcia Beverley Jasmine Chantelle Simone Monique Jade Aaliyah Tiana "
        "Natasha Paulette Sonia Janelle",
        "M": "Jerome Marcus Tyrone Leon Delroy Winston Clive Andre Dwayne Jermaine Kai Malachi Nathaniel "
        "Trevor Errol Devon",
    },
    "eastern_european": {
        "F": "Katarzyna Agnieszka Anna Magdalena Joanna Malgorzata Monika Aleksandra Ioana Elena Andreea "
        "Maria Daiva Ruta Lina Zuzana Petra Natalia Julia Zofia",
        "M": "Piotr Tomasz Krzysztof Pawel Marcin Michal Jakub Lukasz Andrei Ion Mihai Alexandru Tomas "
        "Mindaugas Jonas Jan Marek Aleksander Kacper Filip",
    },
    "chinese": {
        "F": "Mei Li Xiu Ying Hui Jing Yan Fang Ling Xin Wen Min Lan Qing",
        "M": "Wei Jun Hao Ming Lei Jian Tao Yong Bo Chen Peng Feng Kai Long",
    },
    "arabic": {
        "F": "Fatima Mariam Layla Noor Huda Rania Salma Yasmin Hana Amira Lina Dina Zainab Reem Sara Aya",
        "M": "Mohammed Ahmed Omar Ali Khalid Hassan Youssef Mustafa Karim Tariq Samir Ibrahim Hamza Adam "
        "Zaid Bilal Nabil Rami",
    },
}

SURNAMES = {
    "english": "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke Harris Lewis Turner Hill Cooper Ward Morris King "
    "Baker Harrison Morgan Allen Moore Parker Cook Bennett Carter Shaw Mitchell Hughes Edwards Price Barnes "
    "Fletcher Holmes Pearson Lloyd Knight Marshall Ellis Reynolds Chapman Dixon Hunt Palmer Hart Burton",
    "irish": "Murphy Kelly Byrne Ryan O'Brien Walsh Doyle McCarthy Gallagher Doherty Kennedy Lynch Murray "
    "Quinn Moore McLaughlin Carroll Connolly Daly O'Connell Brennan Flanagan",
    "south_asian": "Khan Hussain Ahmed Ali Patel Begum Akhtar Chaudhry Rahman Iqbal Mahmood Shah Malik "
    "Singh Kaur Sharma Islam Uddin Miah Aslam Butt Qureshi Sheikh Hossain Mistry Gill Sandhu Bibi",
    "african": "Okafor Adeyemi Okonkwo Mensah Boateng Asante Osei Abdi Hassan Warsame Farah Adebayo "
    "Olawale Nwosu Eze Owusu Bello Ogunleye Afolabi Achieng",
    "caribbean": "Campbell Brown Williams Francis Thomas Grant Henry Reid Clarke Bailey Gordon Samuels "
    "Lewis Edwards Forbes Powell",
    "eastern_european": "Nowak Kowalski Wisniewski Wojcik Kaminski Lewandowski Zielinski Popescu Ionescu "
    "Popa Dumitru Kazlauskas Jankauskas Petrauskas Novak Horvath Szabo Kowalczyk Mazur Krawczyk",
    "chinese": "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Lin Guo He",
    "arabic": "Mohammed Ahmed Hassan Ali Ibrahim Mahmoud Abdullah Khalil Haddad Nasser Saleh Hamdan "
    "Mansour Yousef Aziz Rahman Said Karim",
}

#: canonical spelling -> spellings other systems use for the same name
TRANSLITERATIONS = {
    "Mohammed": ("Muhammad", "Mohamed", "Mohammad", "Muhammed"),
    "Mohamed": ("Mohammed", "Muhammad"),
    "Ahmed": ("Ahmad", "Ahmet"),
    "Yusuf": ("Yousef", "Yusef", "Youssef"),
    "Youssef": ("Yusuf", "Yousef"),
    "Hussein": ("Hussain", "Husain", "Hosein"),
    "Hussain": ("Hussein", "Husain"),
    "Hassan": ("Hasan",),
    "Omar": ("Umar",),
    "Ibrahim": ("Ebrahim",),
    "Mustafa": ("Mostafa", "Mustapha"),
    "Abdullah": ("Abdallah",),
    "Fatima": ("Fatimah", "Fatma"),
    "Aisha": ("Ayesha", "Aishah"),
    "Ayesha": ("Aisha",),
    "Khadija": ("Khadijah",),
    "Zainab": ("Zaynab", "Zeinab"),
    "Mariam": ("Maryam", "Miriam"),
    "Maryam": ("Mariam",),
    "Chaudhry": ("Chaudhary", "Choudhury", "Chowdhury"),
    "Rahman": ("Rehman",),
    "Mahmood": ("Mahmud", "Mehmood"),
    "Mahmoud": ("Mahmud",),
    "Hossain": ("Hussain", "Hosain"),
    "Alexandru": ("Alexander",),
    "Aleksandra": ("Alexandra",),
    "Malgorzata": ("Margaret",),
    "Wisniewski": ("Wisnieski",),
}

#: formal name -> nicknames people give services informally
NICKNAMES = {
    "Robert": ("Bob", "Rob"), "William": ("Bill", "Will"), "Elizabeth": ("Liz", "Beth"),
    "Margaret": ("Maggie",), "Katherine": ("Kate", "Kathy"), "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jamie"), "Daniel": ("Dan", "Danny"), "Michael": ("Mike", "Mick"),
    "Jennifer": ("Jen", "Jenny"), "Christopher": ("Chris",), "Alexander": ("Alex",), "Samuel": ("Sam",),
    "Joseph": ("Joe",), "Matthew": ("Matt",), "Benjamin": ("Ben",), "Edward": ("Ed", "Ted"),
    "Anthony": ("Tony",), "Jonathan": ("Jon",), "Rebecca": ("Becky",), "Victoria": ("Vicky",),
    "Abigail": ("Abbie",), "Olivia": ("Liv",), "Patrick": ("Paddy",), "Katarzyna": ("Kasia",),
    "Malgorzata": ("Gosia",), "Aleksander": ("Olek",), "Samantha": ("Sam",), "Nicola": ("Nicky",),
    "Stephen": ("Steve",), "Andrew": ("Andy",), "Richard": ("Rich",), "David": ("Dave",),
    "Oluwaseun": ("Seun",), "Abdirahman": ("Abdi",), "Funmilayo": ("Funmi",), "Nathaniel": ("Nate",),
}

STREET_NAMES = (
    "Alder Ash Beech Birch Bramble Brook Canal Castle Cedar Chapel Cherry Church Clover Elm Fern Field "
    "Forge Glebe Hawthorn Hazel Heath Holly Kiln Larch Linden Maple Meadow Mill Oak Orchard Park Poplar "
    "Priory Quarry Rowan Station Thistle Victoria Willow Windmill Yew Albion Balmoral Carlton Dudley "
    "Grafton Hamilton Kingsway Lancaster Marlborough Nelson Oxford Regent Stanley Trafalgar Wellington"
).split()
STREET_KINDS = ("Road", "Street", "Avenue", "Close", "Lane", "Way", "Grove", "Crescent", "Gardens", "Drive")
BLOCK_NAMES = ("House", "Court", "Tower", "Lodge", "Mansions")
BOROUGH_NAME = "Hearthwick"
BOROUGH_TOWN = "Hearthwick"
